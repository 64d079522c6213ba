"""DNS pages: the records a domain should publish with their live check and DKIM keys, the zone file, the
DMARC/MTA-STS choices, and the MTA-STS policy file served to receivers."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from tenants.access import mail_role_required
from tenants.audit import Actor
from tenants.hosts import mail_client_host

from ..access import get_domain_or_404, refuse_if_suspended
from ..dnsrecords import mta_sts_policy, records_for, zone_fragment
from ..forms import DkimKeyForm, DnsSettingsForm
from ..models import DkimKey, DnsCheckResult, Domain
from ..services import dkim as dkim_service
from ..services.dns import dns_settings_for, update_dns_settings
from ..services.dnschecks import check_domain, domain_health, with_dns_health


@mail_role_required
def dns_overview(request):
    """Every domain of the customer with its DNS health and signing key, linking to its records page."""
    domains = with_dns_health(Domain.objects.for_customer(request.customer)).prefetch_related(
        "dkim_keys__domain__mailhost"
    )
    rows = [(domain, domain_health(domain), _signing_selectors(domain)) for domain in domains]
    return render(request, "mailaccounts/dns_overview.html", {"rows": rows})


def _signing_selectors(domain: Domain) -> list[str]:
    return [
        key.selector
        for key in domain.dkim_keys.all()
        if key.is_signing and key.algorithm == DkimKey.Algorithm.RSA
    ]


@mail_role_required
def dns_records(request, pk: int):
    domain = get_domain_or_404(request, pk)
    records = records_for(domain)
    results = {r.record_key: r for r in DnsCheckResult.objects.filter(domain=domain)}
    keys = list(domain.dkim_keys.select_related("domain__mailhost").order_by("-created_at"))
    context = {
        "domain": domain,
        "required_rows": [(r, results.get(r.key)) for r in records if r.required],
        "recommended_rows": [(r, results.get(r.key)) for r in records if not r.required],
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
    check_domain(domain, actor=Actor.from_request(request))
    health = domain_health(domain)
    if health.status == "ok" and not health.improvements:
        messages.success(request, _("Checked: every record is published correctly."))
    elif health.status == "ok":
        messages.success(
            request, _("Checked: your mail works. The recommended records below can still improve it.")
        )
    else:
        messages.warning(request, _("Checked: %(verdict)s.") % {"verdict": health.label})
    return redirect("mailaccounts:dns_records", pk=domain.pk)


@mail_role_required
def dns_zone_download(request, pk: int):
    domain = get_domain_or_404(request, pk)
    response = HttpResponse(zone_fragment(domain), content_type="text/dns; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{domain.name}.zone"'
    return response


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
    host = mail_client_host(request).rstrip(".")
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
