"""DNS records to publish, their live check, DKIM keys and the DMARC/MTA-STS choices of a domain."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from tenants.access import mail_role_required
from tenants.audit import Actor

from ..access import get_domain_or_404
from ..dnscheck import check_domain, domain_health, with_dns_health
from ..dnsrecords import mta_sts_policy, records_for, zone_fragment
from ..models import DkimKey, DmarcPolicy, DnsCheckResult, Domain, MtaStsMode
from ..services import dkim as dkim_service
from ..services.dns import dns_settings_for, update_dns_settings


def refuse_if_suspended(request) -> bool:
    if request.customer.is_suspended:
        messages.error(request, _("This account is suspended; nothing can be changed."))
        return True
    return False


class DkimKeyForm(forms.Form):
    algorithm = forms.ChoiceField(label=_("Key type"), choices=DkimKey.Algorithm.choices, initial="rsa")
    selector = forms.CharField(
        label=_("Selector"),
        required=False,
        max_length=200,
        help_text=_("Leave empty to have one named after this month, such as pb202611."),
    )

    def clean_selector(self):
        value = self.cleaned_data["selector"]
        return dkim_service.validate_selector(value) if value.strip() else ""


class DnsSettingsForm(forms.Form):
    dmarc_policy = forms.ChoiceField(
        label=_("DMARC policy"),
        choices=DmarcPolicy.choices,
        help_text=_("Start with “none”, read the reports, then tighten to quarantine or reject."),
    )
    dmarc_report_email = forms.EmailField(
        label=_("Reporting address"),
        required=False,
        help_text=_("DMARC and TLS reports are sent here. Empty: postmaster@ of the domain."),
    )
    mta_sts_mode = forms.ChoiceField(label=_("MTA-STS mode"), choices=MtaStsMode.choices)


@mail_role_required
def dns_overview(request):
    """Every domain of the customer with its DNS health and signing key, linking to its records page."""
    domains = with_dns_health(Domain.objects.for_customer(request.customer)).prefetch_related("dkim_keys")
    rows = [(domain, domain_health(domain), _signing_selectors(domain)) for domain in domains]
    return render(request, "mailaccounts/dns_overview.html", {"rows": rows})


def _signing_selectors(domain: Domain) -> list[str]:
    return [
        key.selector
        for key in domain.dkim_keys.all()
        if key.state == DkimKey.State.ACTIVE and key.algorithm == DkimKey.Algorithm.RSA
    ]


@mail_role_required
def dns_records(request, pk: int):
    domain = get_domain_or_404(request, pk)
    records = records_for(domain)
    results = {r.record_key: r for r in DnsCheckResult.objects.filter(domain=domain)}
    keys = list(domain.dkim_keys.order_by("-created_at"))
    context = {
        "domain": domain,
        "rows": [(record, results.get(record.key)) for record in records],
        "health": domain_health(domain),
        "dns_settings": dns_settings_for(domain),
        "keys": [(key, dkim_service.retire_after(key)) for key in keys],
        "retired_keys": [key for key in keys if key.state == DkimKey.State.RETIRED],
        "generate_form": DkimKeyForm(initial={"algorithm": _next_algorithm(keys)}),
        "can_generate": _next_algorithm(keys) is not None,
        "rotatable": _rotatable(keys),
    }
    return render(request, "mailaccounts/dns_records.html", context)


def _current(keys, algorithm):
    return [k for k in keys if k.algorithm == algorithm and k.state in dkim_service.CURRENT_STATES]


def _next_algorithm(keys):
    if not _current(keys, DkimKey.Algorithm.RSA):
        return DkimKey.Algorithm.RSA
    if not _current(keys, DkimKey.Algorithm.ED25519):
        return DkimKey.Algorithm.ED25519
    return None


def _rotatable(keys) -> set[int]:
    """Signing keys that may be rotated now: no newer key of their type is still waiting to be published."""
    waiting = {k.algorithm for k in keys if k.state == DkimKey.State.PUBLISH}
    return {k.pk for k in keys if k.state == DkimKey.State.ACTIVE and k.algorithm not in waiting}


@mail_role_required
@require_POST
def dns_check(request, pk: int):
    domain = get_domain_or_404(request, pk)
    results = check_domain(domain, actor=Actor.from_request(request))
    problems = sum(1 for _record, result in results if result.status != "ok")
    if problems:
        messages.warning(request, _("Checked: %(count)s record(s) need attention.") % {"count": problems})
    else:
        messages.success(request, _("Checked: every record is published correctly."))
    return redirect("mailaccounts:dns_records", pk=domain.pk)


@mail_role_required
def dns_zone_download(request, pk: int):
    domain = get_domain_or_404(request, pk)
    response = HttpResponse(zone_fragment(domain), content_type="text/dns; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{domain.name}.zone"'
    return response


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


@mail_role_required
def dmarc_settings(request, pk: int):
    domain = get_domain_or_404(request, pk)
    current = dns_settings_for(domain)
    initial = {
        "dmarc_policy": current.dmarc_policy,
        "dmarc_report_email": current.dmarc_report_email,
        "mta_sts_mode": current.mta_sts_mode,
    }
    form = DnsSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and not refuse_if_suspended(request) and form.is_valid():
        update_dns_settings(domain=domain, actor=Actor.from_request(request), **form.cleaned_data)
        messages.success(request, _("Saved. Update the DMARC, MTA-STS and TLS-RPT records shown below."))
        return redirect("mailaccounts:dns_records", pk=domain.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "mailaccounts/dns_settings.html", {"domain": domain, "form": form}, status=status)


def mta_sts_policy_file(request):
    """The MTA-STS policy of the domain named by the Host header `mta-sts.<domain>` (RFC 8461 §3.3)."""
    host = request.get_host().split(":")[0].lower().rstrip(".")
    if not host.startswith("mta-sts."):
        raise Http404
    domain = (
        Domain.objects.verified()
        .select_related("mailhost")
        .filter(name=host.removeprefix("mta-sts."))
        .first()
    )
    if domain is None:
        raise Http404
    return HttpResponse(mta_sts_policy(domain), content_type="text/plain; charset=utf-8")
