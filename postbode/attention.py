"""What the dashboard says needs the customer's attention: every real problem, worst first.

The dashboard is the project's (it knows every app); a capability that can go wrong for a customer adds its
check here as one small function returning `Attention` items.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.access import may_see_invoices
from billing.models import Invoice
from mailaccounts.models import Alias, Autoresponder, Domain, Mailbox, undeliverable_addresses
from mailaccounts.services.dnschecks import domain_health
from mailhosts.models import MailHost
from relay.models import RelayMessage
from tenants import services as tenant_services
from tenants.access import may_manage_mail
from tenants.models import Customer, Membership

NEAR_QUOTA_RATIO = 0.9
NEAR_QUOTA_SHOWN = 10
BOUNCE_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Attention:
    level: str  # "danger" or "warn": the badge's colour
    tag: str  # the badge's word ("DNS", "Quota")
    text: str
    url: str = ""


def attention_points(customer: Customer, membership: Membership, domains: list[Domain]) -> list[Attention]:
    """Every attention point this member may act on; `domains` carry `with_dns_health` annotations."""
    points = []
    if customer.is_suspended:
        points.append(Attention("danger", _("Suspended"), suspended_text(customer)))
    if customer.require_two_factor:
        points += two_factor_points(customer)
    if may_manage_mail(membership):
        points += domain_points(domains)
        points += failed_change_points(customer)
        points += not_applied_points(customer)
        points += bounce_points(customer)
        points += near_quota_points(customer)
    if may_see_invoices(membership):
        points += overdue_invoice_points(customer)
    return sorted(points, key=lambda point: point.level != "danger")


def suspended_text(customer: Customer) -> str:
    text = _("Your account is suspended; changes are not possible.")
    if customer.suspended_reason:
        text += " " + _("Reason: %(reason)s") % {"reason": customer.suspended_reason}
    return text


def two_factor_points(customer: Customer) -> list[Attention]:
    return [
        Attention(
            "warn",
            _("Two-factor"),
            _("%(email)s has not set up two-factor authentication yet, which your organisation requires.")
            % {"email": m.user.email},
        )
        for m in tenant_services.members_without_two_factor(customer)
    ]


def domain_points(domains: list[Domain]) -> list[Attention]:
    """One point per domain whose required DNS is not right (or that is not verified yet)."""
    points = []
    for domain in domains:
        health = domain_health(domain)
        if not health.level:
            continue
        if health.status == "unverified":
            url = reverse("mailaccounts:domain_detail", args=[domain.pk])
        else:
            url = reverse("mailaccounts:dns_records", args=[domain.pk])
        points.append(Attention(health.level, _("DNS"), f"{domain.unicode_name}: {health.label}", url))
    return points


def failed_change_points(customer: Customer) -> list[Attention]:
    """Changes the mail servers could not apply: objects newer than their host's applied revision, host failing.
    While no mail host is failing (nearly always) one look at the few hosts answers it, not four counts."""
    if not MailHost.objects.filter(last_error__gt="").exists():
        return []
    failing = {"mailhost__last_error__gt": "", "revision__gt": F("mailhost__applied_revision")}
    count = Domain.objects.for_customer(customer).filter(**failing).count()
    via_domain = {
        "domain__mailhost__last_error__gt": "",
        "revision__gt": F("domain__mailhost__applied_revision"),
    }
    count += Mailbox.objects.for_customer(customer).filter(**via_domain).count()
    count += Alias.objects.filter(customer=customer, **via_domain).count()
    count += Autoresponder.objects.filter(
        mailbox__customer=customer,
        mailbox__domain__mailhost__last_error__gt="",
        revision__gt=F("mailbox__domain__mailhost__applied_revision"),
    ).count()
    if not count:
        return []
    text = ngettext(
        "%(count)d change could not be applied on the mail servers yet; we retry automatically.",
        "%(count)d changes could not be applied on the mail servers yet; we retry automatically.",
        count,
    ) % {"count": count}
    return [Attention("danger", _("Failed"), text)]


def not_applied_points(customer: Customer) -> list[Attention]:
    """Forwards and alias destinations saved before the address rule that the mail host never gets."""
    points = []
    forwards = (
        Mailbox.objects.for_customer(customer)
        .filter(deleted_at__isnull=True)
        .exclude(forward_to=[])
        .values_list("pk", "local_part", "domain__name", "forward_to")
    )
    # Plain iteration, not `.iterator()`: on PostgreSQL that declared a server-side cursor (three round trips
    # and a held result) on every view of the dashboard, for rows that are only the forwarding mailboxes'.
    for pk, local, domain, forward_to in forwards:
        if bad := undeliverable_addresses(forward_to or []):
            url = reverse("mailaccounts:mailbox_detail", args=[pk])
            points.append(not_applied_point(f"{local}@{domain}", bad, url))
    aliases = Alias.objects.filter(customer=customer).values_list(
        "pk", "local_part", "domain__name", "destinations"
    )
    for pk, local, domain, destinations in aliases:
        if bad := undeliverable_addresses(destinations or []):
            points.append(
                not_applied_point(f"{local}@{domain}", bad, reverse("mailaccounts:alias_edit", args=[pk]))
            )
    return points


def not_applied_point(address: str, bad: list[str], url: str) -> Attention:
    text = _(
        "Mail to %(address)s is not sent on to %(destinations)s: the mail servers cannot deliver to such an "
        "address. Correct or remove it."
    ) % {"address": address, "destinations": ", ".join(f"“{a}”" for a in bad)}
    return Attention("danger", _("Not applied"), text, url)


def bounce_points(customer: Customer) -> list[Attention]:
    since = timezone.now() - BOUNCE_WINDOW
    count = (
        RelayMessage.objects.for_customer(customer).filter(status="bounced", received_at__gte=since).count()
    )
    if not count:
        return []
    text = ngettext(
        "%(count)d message you sent in the last 24 hours bounced (could not be delivered).",
        "%(count)d messages you sent in the last 24 hours bounced (could not be delivered).",
        count,
    ) % {"count": count}
    return [Attention("warn", _("Bounced"), text, reverse("relay:message_list") + "?status=bounced")]


def near_quota_points(customer: Customer) -> list[Attention]:
    mailboxes = (
        Mailbox.objects.for_customer(customer)
        .active()
        .filter(quota_bytes__gt=0, used_bytes__gte=F("quota_bytes") * NEAR_QUOTA_RATIO)
        .select_related("domain")
        .order_by("-used_bytes")[:NEAR_QUOTA_SHOWN]
    )
    return [
        Attention(
            "danger" if mailbox.used_bytes >= mailbox.quota_bytes else "warn",
            _("Nearly full"),
            _("%(address)s is %(percent)d%% full.")
            % {
                "address": mailbox.unicode_address,
                "percent": 100 * mailbox.used_bytes // mailbox.quota_bytes,
            },
            reverse("mailaccounts:mailbox_detail", args=[mailbox.pk]),
        )
        for mailbox in mailboxes
    ]


def overdue_invoice_points(customer: Customer) -> list[Attention]:
    return [
        Attention(
            "danger",
            _("Overdue"),
            _("Invoice %(number)s is overdue; please pay it.") % {"number": invoice.number},
            reverse("billing:invoice_detail", args=[invoice.pk]) + "#pay",
        )
        for invoice in Invoice.objects.filter(customer=customer).overdue().order_by("due_date")
    ]


__all__ = ["Attention", "attention_points"]
