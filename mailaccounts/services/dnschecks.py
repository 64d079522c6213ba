"""Running the DNS checks for a domain: in parallel, storing each record's result, starting DKIM keys whose
record went live, e-mailing owners about records that broke, choosing which domains are due, and each
domain's health for the pages.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.db.models.functions import Mod
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from tenants.audit import Actor
from tenants.emails import owner_addresses, send_customer_email, site_link

from ..dnscheck import BROKEN, Outcome, check_record
from ..dnsrecords import REQUIRED_KEYS, DnsRecord, is_required, records_for
from ..models import DkimKey, DnsCheckResult, DnsCheckStatus, Domain
from . import dkim as dkim_service
from .dns import dns_settings_for, make_resolver

logger = logging.getLogger(__name__)

CHECK_THREADS = 8


def check_domain(
    domain: Domain, *, actor: Actor | None = None, notify: bool = True
) -> list[tuple[DnsRecord, DnsCheckResult]]:
    """Check every record of a domain and store the results.

    1. Query DNS for each record, in parallel so that a dead name server costs one timeout, not thirteen
       (the checks only use data loaded beforehand; no transaction is held during network waits).
    2. Store each result; a record that was ok and now is broken is remembered for the owner's e-mail.
    3. DKIM keys waiting to be published whose record is now ok start signing.
    4. E-mail the customer's owners about records that broke.
    """
    actor = actor or Actor.system()
    resolver = make_resolver()
    records = records_for(domain)  # also loads the domain's mail host and DNS settings the checks read
    with ThreadPoolExecutor(max_workers=CHECK_THREADS) as pool:
        checked = pool.map(lambda record: check_record(resolver, record, domain), records)
        outcomes = list(zip(records, checked, strict=True))
    results, newly_broken = store_results(domain, outcomes)
    live = {
        r.key.split(":", 1)[1]
        for r, result in results
        if r.key.startswith("dkim:") and result.status == DnsCheckStatus.OK
    }
    if live and domain.dkim_keys.filter(state=DkimKey.State.PUBLISH, selector__in=live).exists():
        dkim_service.activate_published_keys(domain=domain, live_selectors=live, actor=actor)
    if notify and newly_broken:
        transaction.on_commit(lambda: notify_broken(domain, newly_broken))
    return results


@transaction.atomic
def store_results(domain: Domain, outcomes: list[tuple[DnsRecord, Outcome]]):
    """Each record's result in one statement (an upsert on the domain and the record's key), so a check of
    fifteen records costs two queries, not sixty; results of records no longer expected go."""
    now = timezone.now()
    previous = {r.record_key: r for r in DnsCheckResult.objects.select_for_update().filter(domain=domain)}
    results, newly_broken = [], []
    for record, outcome in outcomes:
        before = previous.pop(record.key, None)
        was_ok = before is not None and before.status == DnsCheckStatus.OK
        ok_since = (
            (before.ok_since if before and was_ok else now) if outcome.status == DnsCheckStatus.OK else None
        )
        result = DnsCheckResult(
            domain=domain,
            record_key=record.key,
            name=record.name,
            rtype=record.rtype,
            status=outcome.status,
            expected=record.value,
            found=outcome.found,
            problems=outcome.problems,
            checked_at=now,
            ok_since=ok_since,
        )
        if before is not None and was_ok and outcome.status in BROKEN:
            newly_broken.append(before.pk)  # the upsert keeps the row, and so its id
        results.append((record, result))
    DnsCheckResult.objects.bulk_create(
        [result for _record, result in results],
        update_conflicts=True,
        unique_fields=["domain", "record_key"],
        update_fields=["name", "rtype", "status", "expected", "found", "problems", "checked_at", "ok_since"],
    )
    DnsCheckResult.objects.filter(pk__in=[r.pk for r in previous.values()]).delete()
    dns_settings = dns_settings_for(domain)
    dns_settings.dns_checked_at = now
    dns_settings.save(update_fields=["dns_checked_at"])
    return results, newly_broken


def notify_broken(domain: Domain, result_ids: list[int]) -> None:
    """One e-mail to the customer's owners listing the records that were ok and now are not."""
    broken = list(DnsCheckResult.objects.filter(pk__in=result_ids))
    if not broken:
        return
    send_customer_email(
        customer=domain.customer,
        name="mailaccounts/email/dns_broken",
        context={
            "domain": domain,
            "broken": broken,
            "records_url": site_link("mailaccounts:dns_records", domain.pk),
        },
        to=owner_addresses(domain.customer),
        subject_prefix=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX,
    )


def domains_due(now=None) -> list[Domain]:
    """Verified domains whose turn it is: each domain has a 5-minute slot in the hour (id modulo 12).

    Due at once as well: a domain not checked for over an hour (new, or its slot was missed), and one with a
    DKIM key waiting to be published, so that a rotation completes minutes after the record appears.
    """
    now = now or timezone.now()
    stale = now - timedelta(minutes=65)
    waiting_key = DkimKey.objects.filter(domain=OuterRef("pk"), state=DkimKey.State.PUBLISH)
    due = (
        Q(slot=now.minute // 5)
        | Q(dns_settings__dns_checked_at__isnull=True)
        | Q(dns_settings__dns_checked_at__lt=stale)
        | Q(Exists(waiting_key))
    )
    return list(Domain.objects.verified().alias(slot=Mod("id", 12)).filter(due).order_by("pk"))


def with_dns_health(queryset):
    """Annotate domains with their DNS health for lists such as the dashboard (one query).

    Two tiers: the required records (MX, SPF, DKIM, DMARC) decide whether mail works; the recommended ones
    (autoconfig, SRV, MTA-STS, TLS-RPT) are improvements, never problems.
    """
    required = Q(dns_results__record_key__in=REQUIRED_KEYS) | Q(dns_results__record_key__startswith="dkim:")
    status = "dns_results__status"
    return queryset.annotate(
        dns_result_count=Count("dns_results"),
        dns_missing_count=Count("dns_results", filter=required & Q(**{status: DnsCheckStatus.MISSING})),
        dns_broken_count=Count(
            "dns_results",
            filter=required & Q(**{f"{status}__in": [DnsCheckStatus.WRONG, DnsCheckStatus.CONFLICTING]}),
        ),
        dns_unreachable_count=Count(
            "dns_results", filter=required & Q(**{status: DnsCheckStatus.UNREACHABLE})
        ),
        dns_improvement_count=Count(
            "dns_results",
            filter=~required & ~Q(**{f"{status}__in": [DnsCheckStatus.OK, DnsCheckStatus.UNREACHABLE]}),
        ),
        dns_has_dkim=Exists(DkimKey.objects.filter(domain=OuterRef("pk"), state__in=PUBLISHED_KEY_STATES)),
        dns_checked_at=Max("dns_results__checked_at"),
    )


PUBLISHED_KEY_STATES = [DkimKey.State.PUBLISH, DkimKey.State.ACTIVE, DkimKey.State.RETIRING]
RECORD_LABELS = {"mx": "MX", "spf": "SPF", "dkim": "DKIM", "dmarc": "DMARC"}


@dataclass(frozen=True)
class DomainHealth:
    """A plain verdict on a domain's DNS, from the required records only.

    status: "ok" (mail works), "incomplete" (required records missing: `missing` of them), "problems"
    (required records published but wrong: `broken` names them), "unreachable", "unchecked" or "unverified".
    `improvements` counts recommended records not (yet) right; they never change the verdict.
    """

    status: str
    missing: int = 0
    broken: tuple[str, ...] = ()
    improvements: int = 0
    checked_at: object = None

    @property
    def problem_count(self) -> int:
        return self.missing + len(self.broken)

    @property
    def label(self) -> str:
        if self.status == "incomplete":
            return ngettext(
                "Not ready yet: add %(count)d record", "Not ready yet: add %(count)d records", self.missing
            ) % {"count": self.missing}
        if self.status == "problems":
            return gettext("Problem: %(records)s not right") % {"records": ", ".join(self.broken)}
        return str(HEALTH_LABELS[self.status])

    @property
    def badge(self) -> str:
        return {
            "ok": "badge-ok",
            "problems": "badge-danger",
            "incomplete": "badge-warn",
            "unreachable": "badge-warn",
            "unverified": "badge-warn",
        }.get(self.status, "badge-muted")

    @property
    def level(self) -> str:
        """For the dashboard's attention list: "danger", "warn", or "" when nothing needs doing."""
        return {
            "problems": "danger",
            "incomplete": "warn",
            "unverified": "warn",
            "unreachable": "warn",
            "unchecked": "warn",
        }.get(self.status, "")


HEALTH_LABELS = {
    "ok": _("Your mail works"),
    "unreachable": _("DNS could not be checked"),
    "unchecked": _("DNS not checked yet"),
    "unverified": _("Not ready yet: prove the domain is yours"),
}


def domain_health(domain: Domain) -> DomainHealth:
    """A domain's DNS verdict from its stored results (uses `with_dns_health` annotations when present)."""
    if not hasattr(domain, "dns_missing_count"):
        domain = with_dns_health(Domain.objects.filter(pk=domain.pk)).get()
    return verdict_of(domain)


def verdict_of(domain: Any) -> DomainHealth:
    """The verdict from the counts `with_dns_health` annotates on the domain."""
    if not domain.is_verified:
        return DomainHealth("unverified")
    if not domain.dns_result_count:
        return DomainHealth("unchecked")
    missing = domain.dns_missing_count + (0 if domain.dns_has_dkim else 1)  # no DKIM key yet: one to add
    broken: tuple[str, ...] = ()
    if domain.dns_broken_count:
        keys = DnsCheckResult.objects.filter(
            domain=domain, status__in=[DnsCheckStatus.WRONG, DnsCheckStatus.CONFLICTING]
        ).values_list("record_key", flat=True)
        kinds = {key.split(":")[0] for key in keys if is_required(key)}
        broken = tuple(RECORD_LABELS[kind] for kind in RECORD_LABELS if kind in kinds)  # MX, SPF, DKIM, DMARC
    if broken:
        status = "problems"
    elif missing:
        status = "incomplete"
    elif domain.dns_unreachable_count:
        status = "unreachable"
    else:
        status = "ok"
    return DomainHealth(status, missing, broken, domain.dns_improvement_count, domain.dns_checked_at)
