"""Domain pages: list, add, detail with the verification record, check now, remove."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tenants.access import mail_role_required, owner_required
from tenants.audit import Actor

from ..access import get_domain_or_404
from ..forms import DomainDeleteForm
from ..models import Domain
from ..services import domains as domain_services


class DomainForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Domain name"),
        max_length=253,
        help_text=gettext_lazy("For example example.nl or bücher.de. Subdomains are fine too."),
    )

    def clean_name(self):
        return domain_services.normalize_domain_name(self.cleaned_data["name"])


@mail_role_required
def domain_list(request):
    domains = Domain.objects.for_customer(request.customer).select_related("mailhost")
    return render(request, "mailaccounts/domain_list.html", {"domains": domains})


@mail_role_required
def domain_add(request):
    form = DomainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            domain = domain_services.add_domain(
                customer=request.customer, name=form.cleaned_data["name"], actor=Actor.from_request(request)
            )
        except ValidationError as error:
            form.add_error("name", error)
        else:
            messages.success(
                request, _("%(name)s was added. Publish the record below to verify it.") % {"name": domain}
            )
            return redirect("mailaccounts:domain_detail", pk=domain.pk)
    return render(request, "mailaccounts/domain_add.html", {"form": form})


@mail_role_required
def domain_detail(request, pk):
    domain = get_domain_or_404(request, pk)
    record_name, record_value = domain_services.verification_record(domain)
    context = {
        "domain": domain,
        "record_name": record_name,
        "record_value": record_value,
        "summary": domain_services.removal_summary(domain),
        "verify_before": domain_services.verification_deadline(domain),
    }
    return render(request, "mailaccounts/domain_detail.html", context)


@require_POST
@mail_role_required
def domain_verify(request, pk):
    domain = get_domain_or_404(request, pk)
    result = domain_services.verify_domain(domain=domain, actor=Actor.from_request(request))
    (messages.success if result.verified else messages.warning)(request, result.message)
    return redirect("mailaccounts:domain_detail", pk=domain.pk)


@owner_required
def domain_delete(request, pk):
    """GET lists what goes with the domain; POST removes it once the owner has typed its name."""
    domain = get_domain_or_404(request, pk)
    form = DomainDeleteForm(request.POST or None, domain=domain)
    if request.method == "POST" and form.is_valid():
        domain_services.remove_domain(domain=domain, actor=Actor.from_request(request))
        messages.success(request, _("%(name)s was removed.") % {"name": domain})
        return redirect("mailaccounts:domain_list")
    context = {"domain": domain, "form": form, "summary": domain_services.removal_summary(domain)}
    return render(request, "mailaccounts/domain_confirm_delete.html", context)
