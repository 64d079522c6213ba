"""DKIM keys: creating a domain's first key of a type, and rotating one (publish, then switch, then retire)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from tenants.access import mail_role_required
from tenants.audit import Actor

from ..access import get_domain_or_404, refuse_if_suspended
from ..forms import DkimKeyForm
from ..models import DkimKey
from ..services import dkim as dkim_service


@mail_role_required
@require_POST
def dkim_generate(request, pk: int):
    domain = get_domain_or_404(request, pk)
    form = DkimKeyForm(request.POST)
    if refuse_if_suspended(request):
        return redirect("mailaccounts:dns_records", pk=domain.pk)
    if form.is_valid():
        try:
            key = dkim_service.generate_dkim_key(
                domain=domain,
                actor=Actor.from_request(request),
                algorithm=form.cleaned_data["algorithm"],
                selector=form.cleaned_data["selector"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Key %(selector)s created. Publish its DNS record; signing starts once we see it.")
                % {"selector": key.selector},
            )
            return redirect("mailaccounts:dns_records", pk=domain.pk)
    return render(request, "mailaccounts/dkim_generate.html", {"domain": domain, "form": form}, status=400)


@mail_role_required
def dkim_rotate(request, pk: int, key_pk: int):
    domain = get_domain_or_404(request, pk)
    old_key = get_object_or_404(domain.dkim_keys, pk=key_pk, state=DkimKey.State.ACTIVE)
    form = DkimKeyForm(request.POST or None, initial={"algorithm": old_key.algorithm})
    if request.method == "POST" and not refuse_if_suspended(request) and form.is_valid():
        try:
            key = dkim_service.rotate_dkim_key(
                domain=domain,
                actor=Actor.from_request(request),
                algorithm=old_key.algorithm,
                selector=form.cleaned_data["selector"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("New key %(selector)s created. Publish its record; %(old)s keeps signing until then.")
                % {"selector": key.selector, "old": old_key.selector},
            )
            return redirect("mailaccounts:dns_records", pk=domain.pk)
    status = 400 if request.method == "POST" else 200
    grace_days = settings.DKIM_RETIRE_GRACE_DAYS
    context = {"domain": domain, "old_key": old_key, "form": form, "grace_days": grace_days}
    return render(request, "mailaccounts/dkim_rotate.html", context, status=status)
