"""Load the demo data (idempotent): a staff superuser, a demo owner, "Demo B.V." on Basis with a verified domain
signing with its DKIM key, its mailboxes (with the company calendar and address book switched on), a relay credential with two weeks of
relay log, two months of invoices (one paid online, the first payment, which authorised direct debit; one being
collected by direct debit), spam filter settings with a month of results, and a first backup of the mail host."""

import os
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from backups.jobs import backup_host
from backups.models import Snapshot
from billing.models import Invoice, Payment, PaymentAccount
from billing.services import create_invoice_draft, issue_invoice, mark_paid, previous_month, start_of_day
from devices.services import set_shared_collections
from mailaccounts.models import Domain
from mailaccounts.services.aliases import create_alias
from mailaccounts.services.autoresponders import save_autoresponder
from mailaccounts.services.dkim import activate_published_keys, generate_dkim_key
from mailaccounts.services.domains import add_domain, mark_domain_verified
from mailaccounts.services.mailboxes import create_mailbox
from mailaccounts.services.signatures import set_signature, set_signature_template
from relay.ingest import ingest_lines
from relay.models import RelayCredential, RelayMessage
from relay.services import create_credential
from spamfilter import services as spam
from spamfilter.ingest import ingest_lines as ingest_spam_lines
from spamfilter.models import SpamResult
from tenants.audit import Actor
from tenants.models import GB, Customer, Membership, Plan, Subscription, User
from tenants.services import create_customer

ADMIN_EMAIL = "admin@postbode.localhost"
ADMIN_PASSWORD = "postbode-admin-demo"
OWNER_EMAIL = "demo@postbode.localhost"
OWNER_PASSWORD = "postbode-demo-2026"
MAILBOX_PASSWORD = "Demo-Postvak-2026!"
CUSTOMER_NAME = "Demo B.V."
DOMAIN_NAME = "demo.postbode.localhost"
MAILBOX_USER_EMAIL = f"verkoop@{DOMAIN_NAME}"  # signs in to the panel with the mailbox's own password


def ensure_user(email: str, password: str, *, staff: bool) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        create = User.objects.create_superuser if staff else User.objects.create_user
        user = create(email=email, password=password)
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def christmas_holiday() -> datetime:
    """The next 24 December, 12:00 local time: a scheduled automatic reply to show."""
    now = timezone.localtime()
    start = now.replace(month=12, day=24, hour=12, minute=0, second=0, microsecond=0)
    return start if start > now else start.replace(year=now.year + 1)


class Command(BaseCommand):
    help = "Create the demo logins, customer and domain (safe to run again)."

    def handle(self, *args, **options):
        self.populate()
        # After the commit, and so after what it set off (the mail host's apply, the invoice e-mails printed
        # by the console backend, the first backup): the logins are the last thing `./dev run` shows.
        self.stdout.write(
            self.style.SUCCESS("Demo data ready.")
            + f"\n  Panel:    {settings.SITE_URL}/"
            + f"\n  Customer: {OWNER_EMAIL} / {OWNER_PASSWORD}"
            + f"\n  Staff:    {ADMIN_EMAIL} / {ADMIN_PASSWORD}  ({settings.SITE_URL}/admin/)"
            + f"\n  Mailbox:  info@{DOMAIN_NAME} / {MAILBOX_PASSWORD}  (IMAP/SMTP with `manage.py mailstack start`)"
            + f"\n  Mailbox user: {MAILBOX_USER_EMAIL} / {MAILBOX_PASSWORD}  (the panel, for that one mailbox only)"
            + f"\n  Devices:  {settings.SITE_URL}/mailboxes/ → a mailbox → “Set up a device”; calendar and contacts"
            + "\n            https://127.0.0.1:<MAILSTACK_PORT_BASE+13>/ (Radicale, with `manage.py mailstack start`)"
            + f"\n  Webmail:  {settings.WEBMAIL_URL} (Roundcube, with `manage.py mailstack start`); the mailbox"
            + "\n            user's mailbox page has “Webmail openen”"
        )

    @transaction.atomic
    def populate(self) -> None:
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
                phone="+31 20 794 0000",
                plan=Plan.objects.get(code="basis"),
                actor=actor,
            )
        domain = Domain.objects.filter(name=DOMAIN_NAME).first()
        if domain is None:
            domain = add_domain(customer=customer, name=DOMAIN_NAME, actor=actor)
        if not domain.is_verified:
            mark_domain_verified(domain=domain, actor=actor)
        if not domain.dkim_keys.exists():  # signing, as if the DNS check had seen its record
            key = generate_dkim_key(domain=domain, actor=actor)
            activate_published_keys(domain=domain, live_selectors={key.selector}, actor=actor)
        self.ensure_mailboxes(customer, domain, actor)
        self.ensure_relay_log(customer, domain, actor)
        self.ensure_invoices_and_payments(customer, actor)
        self.ensure_spam_filter(domain, actor)
        self.ensure_signatures(domain, actor)
        transaction.on_commit(lambda: self.ensure_backup(domain))
        set_shared_collections(actor=actor, domain=domain, enabled=True)  # the company calendar and contacts

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
            body="Wij zijn met kerstvakantie. / We are away for Christmas.",
            starts_at=christmas_holiday(),  # the mailbox page shows "Gepland vanaf 24 december"
            ends_at=christmas_holiday() + timedelta(days=10),
            interval_days=3,
        )

    def ensure_signatures(self, domain, actor) -> None:
        """The domain's signature template (info@ signs with it) and a signature of verkoop@'s own."""
        if hasattr(domain, "signature_template"):
            return
        set_signature_template(
            actor=actor,
            domain=domain,
            text="Met vriendelijke groet,\n{name}\n{address} · {phone}\nDemo B.V. · Keizersgracht 100, Amsterdam",
            html=(
                "<p>Met vriendelijke groet,<br><strong>{name}</strong><br>"
                '<a href="mailto:{address}">{address}</a> · {phone}<br>'
                '<span style="color: #1f5fbf">Demo B.V.</span> · Keizersgracht 100, Amsterdam</p>'
            ),
        )
        sales = domain.mailboxes.filter(local_part="verkoop").first()
        if sales is not None:
            set_signature(
                actor=actor,
                mailbox=sales,
                name="Team Verkoop",
                phone="+31 20 794 0001",
                text="Groet van Team Verkoop\nDemo B.V. · +31 20 794 0001\nBestel ook in onze webwinkel.",
                html="",
            )

    def ensure_invoices_and_payments(self, customer, actor) -> None:
        """The customer signed up two months ago: the first invoice was paid on Mollie's payment page (which
        set up a SEPA mandate), the second is being collected by direct debit. No Mollie call is made: these
        are the records the webhook would have left."""
        if Invoice.objects.filter(customer=customer).exists():
            return
        last_month = previous_month(timezone.localdate())
        month_before = previous_month(last_month)
        Subscription.objects.filter(customer=customer).update(
            started_at=start_of_day(month_before.replace(day=3))
        )
        first = issue_invoice(
            invoice=create_invoice_draft(customer=customer, month=month_before), actor=actor
        )
        second = issue_invoice(invoice=create_invoice_draft(customer=customer, month=last_month), actor=actor)
        now = timezone.now()
        Payment.objects.create(
            customer=customer,
            invoice=first,
            reference="demo-first-payment",
            mollie_id="tr_DemoFirst01",
            sequence_type=Payment.Sequence.FIRST,
            method="ideal",
            status=Payment.Status.PAID,
            amount=first.total_incl_vat,
            paid_at=now,
            updated_at=now,
        )
        mark_paid(invoice=first, paid_on=timezone.localdate(), reference="tr_DemoFirst01", actor=actor)
        PaymentAccount.objects.update_or_create(
            customer=customer,
            defaults={
                "mollie_customer_id": "cst_DemoCustomer",
                "mandate_id": "mdt_DemoMandate",
                "mandate_status": "valid",
                "mandate_method": "directdebit",
                "mandate_reference": "POSTBODE-DEMO-0001",
                "mandate_account": "NL55INGB0000000000",
                "first_paid_at": now,
            },
        )
        Payment.objects.create(
            customer=customer,
            invoice=second,
            reference="demo-direct-debit",
            mollie_id="tr_DemoDebit02",
            sequence_type=Payment.Sequence.RECURRING,
            method="directdebit",
            status=Payment.Status.PENDING,
            amount=second.total_incl_vat,
        )

    def ensure_backup(self, domain) -> None:
        """A real first backup of the demo host (restic, a repository under var/), so the restore pages
        list a day with the demo mailboxes' folders."""
        host = domain.mailhost
        if Snapshot.objects.filter(host=host).exists() or shutil.which("restic") is None:
            return
        for mailbox in domain.mailboxes.filter(deleted_at__isnull=True):
            welcome_message(host.mail_root / domain.name / mailbox.local_part / "Maildir", mailbox.address)
        run = backup_host(host=host)
        self.stdout.write(f"  Backup:   snapshot {run.snapshot_id[:8]} of {host.name} (restic)")

    def ensure_spam_filter(self, domain, actor) -> None:
        """Spam filter settings and lists, and a month of what rspamd did, read by the real log ingest."""
        if SpamResult.objects.filter(domain=domain).exists():
            return
        spam.update_domain_policy(
            actor=actor, domain=domain, is_enabled=True, sensitivity="normal", reject_score=15
        )
        spam.add_list_entries(actor=actor, domain=domain, kind="block", text="@aanbiedingen-spam.example")
        info, sales = domain.mailboxes.get(local_part="info"), domain.mailboxes.get(local_part="verkoop")
        spam.add_list_entries(
            actor=actor, domain=domain, mailbox=info, kind="allow", text="boekhouder@accountant.example"
        )
        spam.update_mailbox_policy(
            actor=actor,
            mailbox=sales,
            inherits=False,
            is_enabled=True,
            sensitivity="strict",
            reject_score=12,
            junk_days=14,
        )
        scans, learns = demo_spam_log(domain.name, timezone.now())
        ingest_spam_lines(scans, learns, host=domain.mailhost.name)

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


def welcome_message(maildir: Path, address: str) -> None:
    """One message delivered the Maildir way (a file in new/), so the demo mailbox has something to back up."""
    if (maildir / "new").exists():
        return
    for sub in ["cur", "new", "tmp"]:
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    body = (
        f"From: Postbode <noreply@postbode.localhost>\nTo: {address}\nSubject: Welkom / Welcome\n"
        f"Message-ID: <welcome.{address}>\n\nWelkom bij Postbode. / Welcome to Postbode.\n"
    ).encode()
    (maildir / "new" / f"1700000000.M1P1.demo,S={len(body)},W={len(body) + 6}").write_bytes(body)
    if os.geteuid() == 0:
        for path in [maildir.parent, maildir, *maildir.rglob("*")]:
            os.chown(path, settings.MAIL_UID, settings.MAIL_GID)


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


def demo_spam_log(domain: str, now: datetime) -> tuple[list[str], list[str]]:
    """A month of rspamd's `postbode-scan` lines (deploy/rspamd/local.d/logging.inc) for the demo mailboxes, and
    a few lines of the learning log: mostly clean mail, some probable spam, GTUBE, a blocked sender."""
    rng = random.Random(7)
    kinds = [
        ("no action", 0.3, "MIME_GOOD(-0.10),R_SPF_ALLOW(-0.20),DMARC_POLICY_ALLOW(-0.50)", "klant"),
        (
            "no action",
            7.2,
            "BAYES_SPAM(5.10),R_SPF_SOFTFAIL(0.60),MISSING_MID(2.50),MIME_GOOD(-0.10)",
            "promo",
        ),
        (
            "reject",
            16.4,
            "RBL_SPAMHAUS_XBL(4.00),BAYES_SPAM(5.10),R_SPF_FAIL(4.00),DMARC_POLICY_REJECT(2.00)",
            "x",
        ),
        ("reject", 15.0, "GTUBE(0.00)", "test"),
        (
            "reject",
            0.0,
            "FORCE_ACTION_POSTBODE_BLOCKED(0.00),POSTBODE_BLOCK_DOMAIN_SENDER_DOMAIN(0.00)",
            "deal",
        ),
    ]
    scans = []
    for number in range(160):
        action, score, symbols, who = kinds[0] if number % 4 else rng.choice(kinds)
        at = (now - timedelta(minutes=number * 270 + rng.randint(0, 200))).astimezone(
            ZoneInfo(settings.RELAY_LOG_TIMEZONE)
        )
        sender = f"{who}{number}@{'aanbiedingen-spam.example' if who == 'deal' else 'elders.example'}"
        rcpt = f"{'info' if number % 3 else 'verkoop'}@{domain}"
        scans.append(
            f"{at:%Y-%m-%d %H:%M:%S} #1(rspamd_proxy) <demo>; proxy; rspamd_task_write_log: postbode-scan "
            f"qid=<DEMO{number:06X}> user=<undef> action=<{action}> score=<{score:.2f}/15.00> "
            f"symbols=<{symbols}> from=<{sender}> rcpts=<{rcpt}>"
        )
    learns = [
        f"{(now - timedelta(days=d)).astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} {kind} learned info@{domain}"
        for d, kind in [(2, "spam"), (5, "spam"), (9, "ham"), (20, "spam")]
    ]
    return scans, learns
