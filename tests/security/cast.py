"""A customer with one of everything (the victim), and every customer-facing URL of the panel.

`customer_routes()` walks the URL resolver, so a new page is tested without anyone adding it here. A route
that takes ids must say which of the victim's objects fill them in `ROUTE_OBJECTS`; a new one that does not
fails `test_every_route_with_ids_is_mapped`, so nobody forgets to test it.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

# Not the panel's customer pages: staff, sign-in, static files and the public endpoints that take no
# customer's ids (mail programs' autoconfiguration, MTA-STS, Mollie's webhook, the health check, robots.txt and
# security.txt).
EXCLUDED_PREFIXES = ("admin/", "accounts/", "i18n/", "^static/", "^accounts/")
PUBLIC_ROUTES = {
    "favicon.ico",
    "healthz",
    "robots.txt",
    ".well-known/security.txt",
    ".well-known/mta-sts.txt",
    "mail/config-v1.1.xml",
    ".well-known/autoconfig/mail/config-v1.1.xml",
    "autodiscover/autodiscover.xml",
    "Autodiscover/Autodiscover.xml",
    "billing/payments/webhook/",
    "onboarding/",
}

# Route name → {URL argument: the victim's object (an attribute of `Victim`) or a literal string}.
ROUTE_OBJECTS = {
    "team_invitation_cancel": {"pk": "invitation"},
    "team_member_remove": {"pk": "membership"},
    "invitation_accept": {"token": "invitation_token"},
    "mailaccounts:domain_detail": {"pk": "domain"},
    "mailaccounts:domain_verify": {"pk": "unverified_domain"},
    "mailaccounts:domain_delete": {"pk": "domain"},
    "mailaccounts:domain_routing": {"pk": "domain"},
    "mailaccounts:dns_records": {"pk": "domain"},
    "mailaccounts:dns_check": {"pk": "domain"},
    "mailaccounts:dns_zone_download": {"pk": "domain"},
    "mailaccounts:dmarc_settings": {"pk": "domain"},
    "mailaccounts:dkim_generate": {"pk": "domain"},
    "mailaccounts:dkim_rotate": {"pk": "domain", "key_pk": "dkim_key"},
    "mailaccounts:mailbox_detail": {"pk": "mailbox"},
    "mailaccounts:mailbox_edit": {"pk": "mailbox"},
    "mailaccounts:mailbox_password": {"pk": "mailbox"},
    "mailaccounts:mailbox_forwarding": {"pk": "mailbox"},
    "mailaccounts:autoresponder": {"pk": "mailbox"},
    "mailaccounts:mailbox_delete": {"pk": "mailbox"},
    "mailaccounts:mailbox_restore": {"pk": "deleted_mailbox"},
    "mailaccounts:mailbox_panel_login": {"pk": "mailbox"},
    "mailaccounts:mailbox_signature": {"pk": "mailbox"},
    "mailaccounts:domain_signature_template": {"pk": "domain"},
    "webmail:open": {"pk": "mailbox"},
    "mailaccounts:alias_edit": {"pk": "alias"},
    "mailaccounts:alias_delete": {"pk": "alias"},
    "relay:credential_detail": {"pk": "credential"},
    "relay:credential_secret": {"pk": "credential"},
    "relay:credential_toggle": {"pk": "credential"},
    "relay:credential_delete": {"pk": "credential"},
    "relay:message_detail": {"pk": "relay_message"},
    "spamfilter:domain": {"pk": "domain"},
    "spamfilter:domain_list_add": {"pk": "domain"},
    "spamfilter:domain_list_remove": {"pk": "domain", "entry_pk": "domain_list_entry"},
    "spamfilter:mailbox": {"pk": "mailbox"},
    "spamfilter:mailbox_list_add": {"pk": "mailbox"},
    "spamfilter:mailbox_list_remove": {"pk": "mailbox", "entry_pk": "mailbox_list_entry"},
    "devices:profile_download": {"mailbox_id": "mailbox", "token": "profile_token"},
    "devices:device_setup": {"pk": "mailbox"},
    "devices:profile_link_create": {"pk": "mailbox"},
    "devices:profile_direct": {"pk": "mailbox"},
    "devices:instructions_send": {"pk": "mailbox"},
    "devices:shared_collections_set": {"pk": "domain"},
    "billing:invoice_detail": {"pk": "invoice"},
    "billing:invoice_pdf": {"pk": "invoice"},
    "billing:invoice_pay": {"pk": "invoice"},
    "billing:payment_return": {"reference": "payment_reference"},
    "backups:purged_restore": {"source_pk": "purged_source"},
    "backups:deleted_list": {"pk": "mailbox"},
    "backups:deleted_restore": {"pk": "mailbox"},
    "backups:restore_start": {"pk": "mailbox"},
    "backups:restore_detail": {"pk": "mailbox", "restore_pk": "restore"},
    "backups:restore_progress": {"pk": "mailbox", "restore_pk": "restore"},
}


@dataclass(frozen=True)
class Route:
    route: str  # the pattern as written, e.g. "mailboxes/<int:pk>/edit/"
    name: str  # with its namespace, e.g. "mailaccounts:mailbox_edit"
    arguments: tuple[str, ...]


def _walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else ""
            yield Route(prefix + str(pattern.pattern), name, tuple(pattern.pattern.regex.groupindex))


def customer_routes() -> list[Route]:
    return [
        route
        for route in _walk(get_resolver().url_patterns)
        if not route.route.startswith(EXCLUDED_PREFIXES) and route.route not in PUBLIC_ROUTES
    ]


def routes_with_ids() -> list[Route]:
    return [route for route in customer_routes() if route.arguments]


def routes_without_ids() -> list[Route]:
    return [route for route in customer_routes() if not route.arguments]


class Victim:
    """One customer with one of every object a customer URL can name."""

    def __init__(self, customer, domain, member):
        from backups.models import Restore, Snapshot, SnapshotMailbox
        from billing.models import Invoice, Payment
        from mailaccounts.models import Alias, Domain
        from mailaccounts.services import mailboxes
        from mailaccounts.services.dkim import activate_published_keys, generate_dkim_key
        from relay.models import RelayCredential, RelayMessage
        from spamfilter.models import SenderListEntry
        from tenants.audit import Actor
        from tenants.models import Invitation

        self.customer, self.domain, self.membership = customer, domain, member.membership
        self.unverified_domain = Domain.objects.create(
            customer=customer, name="nog-niet.example", mailhost=domain.mailhost, verification_token="t" * 32
        )
        self.mailbox, _generated = mailboxes.create_mailbox(
            actor=Actor.system(),
            customer=customer,
            domain=domain,
            local_part="jan",
            quota_bytes=100_000_000,
            password="Brood-En-Banket-42",
        )
        self.deleted_mailbox, _generated = mailboxes.create_mailbox(
            actor=Actor.system(),
            customer=customer,
            domain=domain,
            local_part="oud",
            quota_bytes=100_000_000,
            password="Brood-En-Banket-42",
        )
        mailboxes.delete_mailbox(actor=Actor.system(), mailbox=self.deleted_mailbox)
        self.alias = Alias.objects.create(
            customer=customer, domain=domain, local_part="info", destinations=[self.mailbox.address]
        )
        self.invitation_token = "uitnodiging-token"
        self.invitation = Invitation.objects.create(
            customer=customer, email="nieuw@example.com", token_hash="a" * 64
        )
        self.dkim_key = generate_dkim_key(domain=domain, actor=Actor.system(), selector="pb202611")
        activate_published_keys(domain=domain, live_selectors={"pb202611"}, actor=Actor.system())
        self.credential = RelayCredential.objects.create(
            customer=customer, name="webshop", username="relay-victim", secret_hash="{SHA512-CRYPT}$6$x$y"
        )
        self.credential.domains.add(domain)
        self.relay_message = RelayMessage.objects.create(
            host="mx1", queue_id="AB0001CD", received_at=timezone.now(), customer=customer
        )
        self.domain_list_entry = SenderListEntry.objects.create(
            domain=domain, kind="block", value="spam@example.net"
        )
        self.mailbox_list_entry = SenderListEntry.objects.create(
            domain=domain, mailbox=self.mailbox, kind="allow", value="boekhouder@example.org"
        )
        self.profile_token = "x" * 32
        self.invoice = Invoice.objects.create(
            customer=customer,
            number="2026-000001",
            status=Invoice.Status.OPEN,
            period_start=date(2026, 10, 1),
            period_end=date(2026, 10, 31),
            issued_at=timezone.now(),
            due_date=timezone.localdate() + timedelta(days=14),
            total_incl_vat=Decimal("5.45"),
            billed_name="Bakkerij",
            billed_address="Dorpsstraat 1",
            billed_postal_code="1234 AB",
            billed_city="Utrecht",
        )
        self.payment = Payment.objects.create(
            customer=customer, invoice=self.invoice, reference="pb-victim-1", sequence_type="oneoff", amount=5
        )
        self.payment_reference = self.payment.reference
        snapshot = Snapshot.objects.create(
            host=domain.mailhost, snapshot_id="f" * 64, taken_at=timezone.now()
        )
        folders = [{"name": "INBOX", "messages": 3, "bytes": 3000}]
        self.purged_source = SnapshotMailbox.objects.create(
            snapshot=snapshot,
            customer=customer,
            mailbox=None,
            address=f"weg@{domain.name}",
            home=f"{domain.name}/weg",
            folders=folders,
            messages=3,
            bytes=3000,
        )
        self.restore = Restore.objects.create(
            customer=customer,
            mailbox=self.mailbox,
            source_address=self.mailbox.address,
            snapshot_day=timezone.localdate(),
        )

    def url(self, route: Route) -> str:
        mapping = ROUTE_OBJECTS[route.name]
        kwargs = {}
        for argument in route.arguments:
            value = getattr(self, mapping[argument])
            kwargs[argument] = value if isinstance(value, str) else value.pk
        return reverse(route.name, kwargs=kwargs)


def fingerprint() -> dict:
    """Every row of the panel's own tables (not sessions or sign-in records), to prove nothing changed."""
    from django.apps import apps

    skip = {"auditentry"}
    rows = {}
    for label in (
        "panel",
        "mailaccounts",
        "mailhosts",
        "relay",
        "spamfilter",
        "devices",
        "billing",
        "backups",
    ):
        for model in apps.get_app_config(label).get_models():
            if model._meta.model_name in skip:
                continue
            rows[model._meta.label] = sorted(map(repr, model.objects.values()))
    return rows
