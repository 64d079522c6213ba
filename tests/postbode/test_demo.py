from django.core.management import call_command

from mailaccounts.models import Autoresponder, Domain
from tenants.models import Customer, User


def test_demo_is_idempotent_and_prints_logins(db, capsys):
    call_command("demo")
    call_command("demo")
    out = capsys.readouterr().out
    assert "demo@postbode.localhost" in out and "admin@postbode.localhost" in out and "http://" in out
    admin = User.objects.get(email="admin@postbode.localhost")
    assert admin.is_staff and admin.is_superuser
    owner = User.objects.get(email="demo@postbode.localhost")
    assert owner.emailaddress_set.get().verified
    customer = Customer.objects.get(name="Demo B.V.")
    assert customer.plan.code == "basis" and owner.membership.customer == customer
    domain = Domain.objects.get(name="demo.postbode.localhost")
    assert domain.customer == customer and domain.is_verified
    assert Customer.objects.count() == 1 and Domain.objects.count() == 1
    assert sorted(domain.mailboxes.values_list("local_part", flat=True)) == ["info", "verkoop"]
    assert domain.aliases.get().destinations == [
        "info@demo.postbode.localhost",
        "verkoop@demo.postbode.localhost",
    ]
    assert Autoresponder.objects.get().is_enabled
    assert domain.shared_collections.is_enabled  # the company calendar and address book


def test_demo_owner_can_log_in(client, db):
    from postbode.management.commands.demo import OWNER_PASSWORD

    call_command("demo")
    response = client.post(
        "/accounts/login/", {"login": "demo@postbode.localhost", "password": OWNER_PASSWORD}
    )
    assert response["Location"] == "/"


def test_demo_mailbox_user_logs_in_to_their_own_mailbox(client, db, capsys):
    from postbode.management.commands.demo import MAILBOX_PASSWORD, MAILBOX_USER_EMAIL

    call_command("demo")
    assert f"{MAILBOX_USER_EMAIL} / {MAILBOX_PASSWORD}" in capsys.readouterr().out
    response = client.post("/accounts/login/", {"login": MAILBOX_USER_EMAIL, "password": MAILBOX_PASSWORD})
    mailbox = Domain.objects.get(name="demo.postbode.localhost").mailboxes.get(local_part="verkoop")
    assert response["Location"] == f"/mailboxes/{mailbox.pk}/"
    assert client.get("/team/").status_code == 404


def test_demo_has_a_relay_credential_and_two_weeks_of_relay_log(db):
    from relay.models import RejectedAttempt, RelayCredential, RelayEvent, RelayMessage

    call_command("demo")
    customer = Customer.objects.get(name="Demo B.V.")
    credential = RelayCredential.objects.get(customer=customer)
    messages = RelayMessage.objects.filter(customer=customer)
    counts = (messages.count(), RejectedAttempt.objects.filter(customer=customer).count())
    assert counts[0] > 50 and counts[1] > 0
    assert set(messages.values_list("status", flat=True)) == {"sent", "bounced"}
    assert set(messages.values_list("direction", flat=True)) == {"outbound", "inbound"}
    assert messages.filter(credential=credential).exists()
    assert messages.filter(bounce_of__isnull=False).exists()
    assert RelayEvent.objects.filter(message__customer=customer, status="deferred").exists()  # greylisted
    days = {m.received_at.date() for m in messages}
    assert len(days) >= 12
    call_command("demo")
    again = (messages.count(), RejectedAttempt.objects.filter(customer=customer).count())
    assert again == counts
    assert RelayCredential.objects.filter(customer=customer).count() == 1


def test_demo_shows_a_paid_invoice_a_mandate_and_a_direct_debit_under_way(client, db):
    from billing.models import Invoice, Payment, PaymentAccount

    call_command("demo")
    call_command("demo")
    invoices = Invoice.objects.filter(customer__name="Demo B.V.").order_by("period_start")
    assert [i.status for i in invoices] == ["paid", "open"]
    assert PaymentAccount.objects.get(customer__name="Demo B.V.").has_mandate
    assert sorted(Payment.objects.values_list("status", flat=True)) == ["paid", "pending"]
    client.login(email="demo@postbode.localhost", password="postbode-demo-2026")
    page = client.get("/billing/payments/").content.decode()
    assert "•••• 0000" in page and invoices[0].number in page


def test_demo_shows_the_spam_filter_with_lists_and_a_month_of_results(db, client):
    from postbode.management.commands.demo import OWNER_PASSWORD
    from spamfilter.models import LearnEvent, MailboxSpamPolicy, SenderListEntry, SpamResult

    call_command("demo")
    call_command("demo")
    domain = Domain.objects.get(name="demo.postbode.localhost")
    assert SenderListEntry.objects.filter(domain=domain).count() == 2
    assert MailboxSpamPolicy.objects.get(mailbox__local_part="verkoop").sensitivity == "strict"
    counts = SpamResult.objects.filter(domain=domain).counts()
    assert counts["delivered"] > 100 and counts["junk"] and counts["refused"]
    assert LearnEvent.objects.count() == 4
    client.post("/accounts/login/", {"login": "demo@postbode.localhost", "password": OWNER_PASSWORD})
    page = client.get("/spam/").content.decode()
    assert "known spam test text" in page or "bekende spamtesttekst" in page


def test_the_logins_are_printed_once_the_demo_is_committed(db, monkeypatch):
    """`./dev run` shows the logins last: after the commit, so after what it sets off (the apply, the invoice
    e-mails the console backend prints, the first backup), not above them."""
    from io import StringIO

    from django.db import connection

    from postbode.management.commands.demo import Command

    depth = {}
    inside = Command.ensure_signatures

    def ensure_signatures(self, *args):
        depth["inside"] = len(connection.savepoint_ids)
        return inside(self, *args)

    class Output(StringIO):
        def write(self, text):
            if "Demo data ready." in text:
                depth["summary"] = len(connection.savepoint_ids)
            return super().write(text)

    monkeypatch.setattr(Command, "ensure_signatures", ensure_signatures)
    call_command("demo", stdout=Output())
    assert depth["summary"] < depth["inside"]
