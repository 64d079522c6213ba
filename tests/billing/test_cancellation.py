"""Cancelling: the typed confirmation, the money-back guarantee, mail until the period's end, the data kept
and then deleted, staff restoring, and plan changes around it."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing.cancellation import advance_cancellations
from billing.models import Cancellation, Invoice, Payment, Refund
from billing.payments import collect_open_invoices
from billing.services import generate_invoices
from mailaccounts.models import Domain, Mailbox
from mailaccounts.rendering import load_host_data
from tenants.models import AuditEntry, Customer, Plan, Subscription

CANCEL = reverse("billing:account_cancel")


@pytest.fixture
def invoice(customer, history):
    history(customer, [("basis", date(2026, 9, 1))])
    generate_invoices(month=date(2026, 10, 1))
    return Invoice.objects.get(customer=customer)


@pytest.fixture
def paid_twice(owner_client, customer, invoice, mollie, django_capture_on_commit_callbacks):
    """October paid on the payment page (the first payment, today), November collected by direct debit."""
    owner_client.post(reverse("billing:invoice_pay", args=[invoice.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        mollie.settle(mollie.last_payment()["id"], "paid")
    generate_invoices(month=date(2026, 11, 1))
    collect_open_invoices()
    with django_capture_on_commit_callbacks(execute=True):
        mollie.settle(mollie.last_payment()["id"], "paid")
    assert Payment.objects.filter(status="paid").count() == 2
    return list(Payment.objects.order_by("pk"))


def cancel(client, customer, django_capture_on_commit_callbacks, name=None):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(CANCEL, {"confirm": name or customer.name}, follow=True)


def test_the_cancel_page_names_what_stops_and_when(owner_client, customer, domain, mailbox, invoice):
    page = owner_client.get(CANCEL).content.decode()
    assert domain.name in page and mailbox.address in page
    assert "money-back guarantee" in page and "Mail stops at once" in page
    assert customer.name in page


def test_a_wrong_typed_confirmation_changes_nothing(
    owner_client, customer, django_capture_on_commit_callbacks
):
    response = cancel(owner_client, customer, django_capture_on_commit_callbacks, name="yes")
    assert "That is not the account&#x27;s name" in response.content.decode()
    assert not Cancellation.objects.exists()
    assert Customer.objects.get(pk=customer.pk).status == Customer.Status.ACTIVE


def test_only_owners_cancel(member_client, billing_client, customer):
    for client in (member_client, billing_client):
        assert client.post(CANCEL, {"confirm": customer.name}).status_code == 403
    assert not Cancellation.objects.exists()


def test_cancelling_on_day_10_refunds_every_payment_with_credit_invoices_and_stops_mail_at_once(
    owner_client, customer, domain, mailbox, paid_twice, mollie, travel, django_capture_on_commit_callbacks
):
    assert mailbox.address in {box.address for box in load_host_data(domain.mailhost).mailboxes}
    travel(timezone.localdate() + timedelta(days=10))
    mail.outbox.clear()
    response = cancel(owner_client, customer, django_capture_on_commit_callbacks)
    assert "has been cancelled" in response.content.decode()

    refunds = {r["paymentId"]: r for r in mollie.refunds.values()}
    assert set(refunds) == {p.mollie_id for p in paid_twice}
    for payment in paid_twice:
        assert refunds[payment.mollie_id]["amount"]["value"] == f"{payment.amount:.2f}"
    credits = Invoice.objects.filter(customer=customer, credit_for__isnull=False)
    assert credits.count() == 2 and all(c.status == Invoice.Status.PAID for c in credits)
    assert sorted(c.total_incl_vat for c in credits) == sorted(-p.amount for p in paid_twice)
    assert set(Refund.objects.values_list("credit_invoice_id", flat=True)) == set(
        credits.values_list("pk", flat=True)
    )
    numbers = sorted(Invoice.objects.issued().values_list("number", flat=True))
    assert [int(n.split("-")[1]) for n in numbers] == list(range(1, len(numbers) + 1))  # gapless

    customer.refresh_from_db()
    assert customer.is_closed
    assert domain.name not in {row["name"] for row in load_host_data(domain.mailhost).domains.values()}
    assert not load_host_data(domain.mailhost).mailboxes
    assert Mailbox.objects.get(pk=mailbox.pk).revision > mailbox.revision  # shown pending until applied
    subjects = [m.subject for m in mail.outbox]
    assert any("cancellation" in s for s in subjects) and any("mail has stopped" in s for s in subjects)
    generate_invoices(month=date(2026, 12, 1)) if date(2026, 12, 31) < timezone.localdate() else None
    assert not Invoice.objects.filter(customer=customer, period_start__gte=date(2026, 12, 1)).exists()
    assert AuditEntry.objects.filter(customer=customer, action="refund.created").count() == 2


def test_cancelling_on_day_40_refunds_nothing_and_mail_runs_until_the_period_ends(
    owner_client, customer, domain, mailbox, paid_twice, mollie, travel, django_capture_on_commit_callbacks
):
    day_40 = timezone.localdate() + timedelta(days=40)
    travel(day_40)
    cancel(owner_client, customer, django_capture_on_commit_callbacks)
    cancellation = Cancellation.objects.get(customer=customer)
    period_end = (day_40.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    assert not cancellation.money_back and cancellation.service_ends_on == period_end
    assert not mollie.refunds and not Invoice.objects.filter(credit_for__isnull=False).exists()
    customer.refresh_from_db()
    assert not customer.is_closed
    assert mailbox.address in {box.address for box in load_host_data(domain.mailhost).mailboxes}
    subscription = Subscription.objects.get(customer=customer)
    assert timezone.localdate(subscription.ended_at) == period_end + timedelta(days=1)

    assert advance_cancellations(today=period_end) == (0, 0)  # the last paid day: mail still works
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert advance_cancellations(today=period_end + timedelta(days=1)) == (1, 0)
    customer.refresh_from_db()
    assert customer.is_closed and not load_host_data(domain.mailhost).mailboxes
    assert [m.subject for m in mail.outbox] == ["Postbode: mail has stopped"]
    assert Mailbox.objects.filter(pk=mailbox.pk).exists()  # kept 30 days

    cancellation.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert advance_cancellations(today=cancellation.delete_after) == (0, 0)
        assert advance_cancellations(today=cancellation.delete_after + timedelta(days=1)) == (0, 1)
        assert advance_cancellations(today=cancellation.delete_after + timedelta(days=2)) == (0, 0)
    assert not Mailbox.objects.filter(customer=customer).exists()
    assert not Domain.objects.filter(customer=customer).exists()
    assert Invoice.objects.filter(customer=customer).exists()  # the books stay
    assert "deleted" in mail.outbox[-1].subject


def test_a_replayed_cancel_request_changes_nothing_and_says_so(
    owner_client, customer, invoice, travel, django_capture_on_commit_callbacks
):
    travel(timezone.localdate() + timedelta(days=40))
    cancel(owner_client, customer, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    response = cancel(owner_client, customer, django_capture_on_commit_callbacks)
    assert "already been cancelled" in response.content.decode()
    assert Cancellation.objects.count() == 1 and not mail.outbox
    assert AuditEntry.objects.filter(action="account.cancelled").count() == 1


def test_staff_restore_a_closed_account_and_mail_is_served_again(
    owner_client, staff_client, customer, domain, mailbox, invoice, django_capture_on_commit_callbacks
):
    cancel(owner_client, customer, django_capture_on_commit_callbacks)  # day 0: money back, mail stops
    assert Customer.objects.get(pk=customer.pk).is_closed
    cancellation = Cancellation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            "/admin/billing/cancellation/",
            {"action": "restore_action", "_selected_action": [cancellation.pk]},
        )
    customer.refresh_from_db()
    assert customer.status == Customer.Status.ACTIVE
    assert mailbox.address in {box.address for box in load_host_data(domain.mailhost).mailboxes}
    assert Subscription.objects.filter(customer=customer, ended_at__isnull=True).exists()
    assert not Cancellation.objects.exists()
    assert AuditEntry.objects.filter(action="account.restored", actor_kind="staff").exists()


def test_a_closed_account_can_look_but_not_change(
    owner_client, customer, invoice, django_capture_on_commit_callbacks
):
    cancel(owner_client, customer, django_capture_on_commit_callbacks)
    page = owner_client.get(reverse("billing:invoice_list")).content.decode()
    assert "mail has stopped" in page
    response = owner_client.post(reverse("billing:details"), {"name": "Other"}, follow=True)
    assert "This account is closed" in response.content.decode()


def test_an_upgrade_waits_until_nothing_is_overdue_a_downgrade_does_not(
    owner_client, customer, invoice, travel
):
    travel(invoice.due_date + timedelta(days=1))
    response = owner_client.post(reverse("plan_change"), {"plan": "professional"}, follow=True)
    assert "once nothing is overdue" in response.content.decode()
    assert Customer.objects.get(pk=customer.pk).plan.code == "basis"
    Customer.objects.filter(pk=customer.pk).update(plan=Plan.objects.get(code="professional"))
    Subscription.objects.filter(customer=customer).update(plan=Plan.objects.get(code="professional"))
    owner_client.post(reverse("plan_change"), {"plan": "basis"})
    assert Customer.objects.get(pk=customer.pk).plan.code == "basis"


def test_no_plan_change_after_cancelling(owner_client, customer, invoice, django_capture_on_commit_callbacks):
    cancel(owner_client, customer, django_capture_on_commit_callbacks)
    Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.ACTIVE)
    response = owner_client.post(reverse("plan_change"), {"plan": "professional"}, follow=True)
    assert "has been cancelled" in response.content.decode()


def test_a_closed_accounts_relay_credentials_no_longer_log_in(
    owner_client, customer, domain, django_capture_on_commit_callbacks
):
    from relay.rendering import render_relay
    from relay.services import create_credential
    from tenants.audit import Actor

    credential, _secret = create_credential(
        customer=customer, name="shop", domains=[domain], actor=Actor.system()
    )
    users = render_relay(domain.mailhost).files["dovecot/relay-users"].content.decode()
    assert credential.username in users
    cancel(
        owner_client, customer, django_capture_on_commit_callbacks
    )  # within the guarantee: mail stops at once
    assert (
        credential.username not in render_relay(domain.mailhost).files["dovecot/relay-users"].content.decode()
    )
