"""Load the demo data (idempotent): a staff superuser, a demo owner, "Demo B.V." on Basis with a verified domain,
its mailboxes (with the company calendar and address book switched on), and a relay credential with two weeks
of relay log."""

import random
from datetime import UTC, datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from devices.services import set_shared_collections
from mailaccounts.models import Domain
from mailaccounts.services.aliases import create_alias
from mailaccounts.services.autoresponders import save_autoresponder
from mailaccounts.services.domains import add_domain, mark_domain_verified
from mailaccounts.services.mailboxes import create_mailbox
from relay.ingest import ingest_lines
from relay.models import RelayCredential, RelayMessage
from relay.services import create_credential
from tenants.audit import Actor
from tenants.models import GB, Customer, Membership, Plan, User
from tenants.services import create_customer

ADMIN_EMAIL = "admin@postbode.localhost"
ADMIN_PASSWORD = "postbode-admin-demo"
OWNER_EMAIL = "demo@postbode.localhost"
OWNER_PASSWORD = "postbode-demo-2026"
MAILBOX_PASSWORD = "Demo-Postvak-2026!"
CUSTOMER_NAME = "Demo B.V."
DOMAIN_NAME = "demo.postbode.localhost"


def ensure_user(email: str, password: str, *, staff: bool) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        create = User.objects.create_superuser if staff else User.objects.create_user
        user = create(email=email, password=password)
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


class Command(BaseCommand):
    help = "Create the demo logins, customer and domain (safe to run again)."

    @transaction.atomic
    def handle(self, *args, **options):
        actor = Actor.system()
        ensure_user(ADMIN_EMAIL, ADMIN_PASSWORD, staff=True)
        owner = ensure_user(OWNER_EMAIL, OWNER_PASSWORD, staff=False)
        membership = Membership.objects.filter(user=owner).select_related("customer").first()
        customer = membership.customer if membership else Customer.objects.filter(name=CUSTOMER_NAME).first()
        if customer is None:
            customer = create_customer(
                owner=owner,
                name=CUSTOMER_NAME,
                billing_email=OWNER_EMAIL,
                address="Keizersgracht 100",
                postal_code="1015 AA",
                city="Amsterdam",
                country="NL",
                plan=Plan.objects.get(code="basis"),
                actor=actor,
            )
        domain = Domain.objects.filter(name=DOMAIN_NAME).first()
        if domain is None:
            domain = add_domain(customer=customer, name=DOMAIN_NAME, actor=actor)
        if not domain.is_verified:
            mark_domain_verified(domain=domain, actor=actor)
        self.ensure_mailboxes(customer, domain, actor)
        self.ensure_relay_log(customer, domain, actor)
        set_shared_collections(actor=actor, domain=domain, enabled=True)  # the company calendar and contacts
        self.stdout.write(
            self.style.SUCCESS("Demo data ready.")
            + f"\n  Panel:    {settings.SITE_URL}/"
            + f"\n  Customer: {OWNER_EMAIL} / {OWNER_PASSWORD}"
            + f"\n  Staff:    {ADMIN_EMAIL} / {ADMIN_PASSWORD}  ({settings.SITE_URL}/admin/)"
            + f"\n  Mailbox:  info@{DOMAIN_NAME} / {MAILBOX_PASSWORD}  (IMAP/SMTP with `manage.py mailstack start`)"
            + f"\n  Devices:  {settings.SITE_URL}/mailboxes/ → a mailbox → “Set up a device”; calendar and contacts"
            + "\n            https://127.0.0.1:<MAILSTACK_PORT_BASE+13>/ (Radicale, with `manage.py mailstack start`)"
        )

    def ensure_mailboxes(self, customer, domain, actor) -> None:
        """Two mailboxes, an alias and an autoresponder, so every page has something to show."""
        if domain.mailboxes.exists():
            return
        info, _ = create_mailbox(
            actor=actor,
            customer=customer,
            domain=domain,
            local_part="info",
            display_name="Demo B.V.",
            quota_bytes=GB,
            password=MAILBOX_PASSWORD,
        )
        sales, _ = create_mailbox(
            actor=actor,
            customer=customer,
            domain=domain,
            local_part="verkoop",
            display_name="Verkoop",
            quota_bytes=GB,
            password=MAILBOX_PASSWORD,
        )
        create_alias(
            actor=actor,
            customer=customer,
            domain=domain,
            local_part="team",
            destinations=[info.address, sales.address],
        )
        save_autoresponder(
            actor=actor,
            mailbox=sales,
            is_enabled=True,
            subject="Afwezig / Out of office",
            body="Wij zijn tot maandag afwezig. / We are away until Monday.",
            interval_days=3,
        )

    def ensure_relay_log(self, customer, domain, actor) -> None:
        """A relay credential for the demo web shop and two weeks of its Postfix log, read by the real
        ingest: sent, greylisted and later sent, bounced (with the notification back), inbound mail through
        the alias, and a refused attempt to send as someone else's domain."""
        credential = RelayCredential.objects.filter(customer=customer, name="webshop").first()
        if credential is None:
            credential, _secret = create_credential(
                customer=customer, name="webshop", domains=[domain], actor=actor
            )
        if RelayMessage.objects.filter(customer=customer).exists():
            return
        ingest_lines(
            demo_relay_log(domain.name, credential.username, timezone.now()), host=domain.mailhost.name
        )


def demo_relay_log(domain: str, username: str, now: datetime, *, messages: int = 90) -> list[str]:
    """Postfix log lines (RFC 3339 time stamps, in time order) for `messages` messages over two weeks."""
    rng = random.Random(2026)
    lines: list[tuple[datetime, str]] = []
    shop = f"postfix/submission/smtpd[{rng.randint(1000, 9999)}]"

    def log(at: datetime, text: str) -> None:
        lines.append((at, text))

    for n in range(messages):
        qid = f"{0x4A00000 + n * 37:07X}{rng.randint(0, 0xFFF):03X}"
        at = now - timedelta(days=13.9) + timedelta(days=13.8 * n / messages, seconds=rng.randint(0, 3000))
        at = min(at, now - timedelta(minutes=30))
        kind = rng.choices(["sent", "greylisted", "bounced", "inbound", "refused"], [60, 8, 7, 20, 5])[0]
        if kind == "refused":
            log(
                at,
                f"{shop}: NOQUEUE: reject: RCPT from webshop.example[203.0.113.5]: 553 5.7.1 <sales@other.example>:"
                f" Sender address rejected: not owned by user {username}; from=<sales@other.example>"
                f" to=<klant{n}@example.nl> proto=ESMTP helo=<webshop.example>",
            )
            continue
        if kind == "inbound":
            to, orig = (f"info@{domain}", f"team@{domain}") if n % 3 else (f"verkoop@{domain}", "")
            log(at, f"postfix/smtpd[2200]: {qid}: client=mail.example.org[198.51.100.20]")
            log(at, f"postfix/cleanup[2105]: {qid}: message-id=<{n}.{qid.lower()}@example.org>")
            log(
                at,
                f"postfix/qmgr[2000]: {qid}: from=<klant{n}@example.org>, size={rng.randint(2000, 90000)}, nrcpt=1 (queue active)",
            )
            alias = f", orig_to=<{orig}>" if orig else ""
            log(
                at + timedelta(seconds=1),
                f"postfix/lmtp[2201]: {qid}: to=<{to}>{alias}, relay=127.0.0.1[127.0.0.1]:24, delay=0.4,"
                f" delays=0.1/0/0.1/0.2, dsn=2.0.0, status=sent (250 2.0.0 <{to}> Saved)",
            )
            log(at + timedelta(seconds=1), f"postfix/qmgr[2000]: {qid}: removed")
            continue
        to = f"klant{n}@{rng.choice(['gmail.com', 'outlook.com', 'ziggo.nl', 'kpnmail.nl'])}"
        mx = f"mx{rng.randint(1, 3)}.{to.split('@')[1]}[192.0.2.{rng.randint(2, 250)}]:25"
        log(
            at,
            f"{shop}: {qid}: client=webshop.example[203.0.113.5], sasl_method=PLAIN, sasl_username={username}",
        )
        log(at, f"postfix/cleanup[2105]: {qid}: message-id=<order-{1000 + n}@{domain}>")
        log(
            at,
            f"postfix/qmgr[2000]: {qid}: from=<info@{domain}>, size={rng.randint(3000, 40000)}, nrcpt=1 (queue active)",
        )
        sent_at = at + timedelta(seconds=2)
        if kind == "greylisted":
            log(
                sent_at,
                f"postfix/smtp[2110]: {qid}: to=<{to}>, relay={mx}, delay=2, delays=0.1/0/0.9/1, dsn=4.7.1,"
                f" status=deferred (host {mx} said: 450 4.7.1 <{to}>: Recipient address rejected: Greylisted,"
                " try again later (in reply to RCPT TO command))",
            )
            sent_at += timedelta(minutes=rng.randint(5, 20))
        if kind == "bounced":
            notice = f"{0x4B00000 + n * 37:07X}{rng.randint(0, 0xFFF):03X}"
            log(
                sent_at,
                f"postfix/smtp[2111]: {qid}: to=<{to}>, relay={mx}, delay=2, delays=0.1/0/0.9/1, dsn=5.1.1,"
                f" status=bounced (host {mx} said: 550 5.1.1 <{to}>: Recipient address rejected: User unknown"
                " (in reply to RCPT TO command))",
            )
            log(sent_at, f"postfix/cleanup[2105]: {notice}: message-id=<{notice.lower()}@{domain}>")
            log(sent_at, f"postfix/bounce[2115]: {qid}: sender non-delivery notification: {notice}")
            log(sent_at, f"postfix/qmgr[2000]: {notice}: from=<>, size=4096, nrcpt=1 (queue active)")
            log(
                sent_at + timedelta(seconds=1),
                f"postfix/lmtp[2201]: {notice}: to=<info@{domain}>, relay=127.0.0.1[127.0.0.1]:24, delay=0.1,"
                f" delays=0/0/0.05/0.05, dsn=2.0.0, status=sent (250 2.0.0 <info@{domain}> Saved)",
            )
            log(sent_at + timedelta(seconds=1), f"postfix/qmgr[2000]: {notice}: removed")
        else:
            delay = (sent_at - at).total_seconds()
            log(
                sent_at,
                f"postfix/smtp[2112]: {qid}: to=<{to}>, relay={mx}, delay={delay:.0f}, delays=0.1/0/0.9/1,"
                f" dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {rng.randint(10**6, 10**7)})",
            )
        log(sent_at + timedelta(seconds=1), f"postfix/qmgr[2000]: {qid}: removed")
    lines.sort(key=lambda line: line[0])
    return [f"{at.astimezone(UTC).isoformat(timespec='microseconds')} mx1 {text}" for at, text in lines]
