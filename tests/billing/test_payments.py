"""Paying with Mollie: the production client against a local server that answers like Mollie's API."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, Payment, PaymentAccount
from billing.payments import collect_open_invoices, suspend_unpaid_customers
from billing.services import generate_invoices, send_overdue_reminders
from tenants.models import AuditEntry, Customer

WEBHOOK = reverse("billing:payment_webhook")


@pytest.fixture
def invoice(customer, history):
    history(customer, [("basis", date(2026, 9, 1))])
    generate_invoices(month=date(2026, 10, 1))
    return Invoice.objects.get(customer=customer)


def pay_url(invoice) -> str:
    return reverse("billing:invoice_pay", args=[invoice.pk])


def start_paying(client, invoice, mollie) -> dict:
    """Press "pay" as the customer: the panel sends the browser to Mollie's payment page."""
    response = client.post(pay_url(invoice))
    assert response.status_code == 302
    assert response["Location"].startswith(f"{mollie.url}/checkout/tr_")
    return mollie.last_payment()


def pay_first_invoice(client, invoice, mollie, django_capture_on_commit_callbacks) -> Payment:
    mollie_payment = start_paying(client, invoice, mollie)
    with django_capture_on_commit_callbacks(execute=True):
        mollie.settle(mollie_payment["id"], "paid")
    return Payment.objects.get(mollie_id=mollie_payment["id"])


def actions(customer, action) -> int:
    return AuditEntry.objects.filter(customer=customer, action=action).count()


def test_without_an_api_key_the_invoice_offers_bank_transfer_and_says_online_payment_is_off(
    owner_client, invoice, settings
):
    settings.MOLLIE_API_KEY = ""
    page = owner_client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert "Online payment is off" in page and "IBAN" in page
    assert 'id="pay-online"' not in page
    response = owner_client.post(pay_url(invoice), follow=True)
    assert "Online payment is off" in response.content.decode()
    assert not Payment.objects.exists()


def test_the_invoice_page_offers_ideal_when_mollie_is_set_up(owner_client, invoice, mollie):
    page = owner_client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert 'id="pay-online"' in page


def test_first_payment_sets_up_a_mandate_and_the_next_invoice_is_collected_by_direct_debit(
    owner_client, customer, invoice, mollie, django_capture_on_commit_callbacks
):
    mollie_payment = start_paying(owner_client, invoice, mollie)
    assert mollie_payment["sequenceType"] == "first"
    assert mollie_payment["amount"] == {"currency": "EUR", "value": f"{invoice.total_incl_vat:.2f}"}
    assert mollie_payment["webhookUrl"] == "http://testserver" + WEBHOOK
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN  # nothing is paid before Mollie says so

    with django_capture_on_commit_callbacks(execute=True):
        mollie.settle(mollie_payment["id"], "paid")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.payment_reference == mollie_payment["id"]
    account = PaymentAccount.objects.get(customer=customer)
    assert account.has_mandate and account.mandate_id.startswith("mdt_")
    assert account.masked_account == "•••• 0000"

    generate_invoices(month=date(2026, 11, 1))
    november = Invoice.objects.get(customer=customer, period_start=date(2026, 11, 1))
    assert collect_open_invoices() == 1
    assert collect_open_invoices() == 0  # a second run starts no second debit
    debit = Payment.objects.get(invoice=november)
    assert debit.sequence_type == "recurring" and debit.status == "pending"
    assert mollie.payments[debit.mollie_id]["mandateId"] == account.mandate_id
    assert (
        "Being collected by direct debit"
        in owner_client.get(reverse("billing:invoice_list")).content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        mollie.settle(debit.mollie_id, "paid")
    november.refresh_from_db()
    assert november.status == Invoice.Status.PAID


def test_returning_from_the_payment_page_proves_nothing(owner_client, outsider_client, invoice, mollie):
    start_paying(owner_client, invoice, mollie)
    payment = Payment.objects.get()
    return_url = reverse("billing:payment_return", args=[payment.reference])
    response = owner_client.get(return_url + "?status=paid&id=tr_forged", follow=True)
    assert "being processed" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert outsider_client.get(return_url).status_code == 404  # another customer's payment
    assert owner_client.get(reverse("billing:payment_return", args=["tampered"])).status_code == 404


def test_the_return_page_asks_mollie_and_shows_the_payment_paid(owner_client, invoice, mollie):
    mollie.send_webhooks = False  # the webhook is late: the return page asks Mollie itself
    mollie_payment = start_paying(owner_client, invoice, mollie)
    mollie.settle(mollie_payment["id"], "paid")
    payment = Payment.objects.get()
    response = owner_client.get(reverse("billing:payment_return", args=[payment.reference]), follow=True)
    assert "we received your payment" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_a_webhook_replayed_twice_changes_the_state_once(
    owner_client, customer, invoice, mollie, django_capture_on_commit_callbacks
):
    payment = pay_first_invoice(owner_client, invoice, mollie, django_capture_on_commit_callbacks)
    for _ in range(2):
        mollie.call_webhook(payment.mollie_id)
    assert [r.content for r in mollie.webhook_responses] == [b"updated", b"unchanged", b"unchanged"]
    assert actions(customer, "payment.paid") == 1
    assert actions(customer, "invoice.paid") == 1
    assert actions(customer, "mandate.created") == 1


def test_a_webhook_for_a_payment_the_panel_never_created_changes_nothing(
    client, customer, other_customer, invoice, mollie
):
    foreign = mollie.create_payment(
        {
            "amount": {"currency": "EUR", "value": "5.45"},
            "description": "not ours",
            "redirectUrl": "https://elsewhere.example/",
            "metadata": {"invoice": invoice.number},
        }
    )
    mollie.settle(foreign["id"], "paid", webhook=False)
    mollie_side = Client(enforce_csrf_checks=True)  # Mollie sends no CSRF token
    response = mollie_side.post(WEBHOOK, {"id": foreign["id"]})
    assert response.status_code == 200 and response.content == b"unknown"
    assert client.post(WEBHOOK, {"id": "tr_neverexisted"}).content == b"unknown"
    for forged in ["", "re_abc", "tr_../../x", "tr_" + "a" * 100]:
        assert client.post(WEBHOOK, {"id": forged}).status_code == 400
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert not Payment.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="payment.").exists()


def test_a_double_click_on_pay_makes_one_payment(owner_client, invoice, mollie):
    first = owner_client.post(pay_url(invoice))
    second = owner_client.post(pay_url(invoice))
    assert first["Location"] == second["Location"]
    assert Payment.objects.count() == 1
    assert len(mollie.payments) == 1


def test_an_expired_payment_page_is_replaced_by_a_new_one(owner_client, invoice, mollie):
    first = start_paying(owner_client, invoice, mollie)
    mollie.settle(first["id"], "expired")
    second = start_paying(owner_client, invoice, mollie)
    assert second["id"] != first["id"]
    assert Payment.objects.get(mollie_id=first["id"]).status == "expired"


def test_a_paid_invoice_cannot_be_paid_again(
    owner_client, invoice, mollie, django_capture_on_commit_callbacks
):
    pay_first_invoice(owner_client, invoice, mollie, django_capture_on_commit_callbacks)
    response = owner_client.post(pay_url(invoice), follow=True)
    assert "nothing left to pay" in response.content.decode()
    assert len(mollie.payments) == 1


def test_a_failed_direct_debit_keeps_the_invoice_open_and_emails_a_pay_link(
    owner_client, customer, invoice, mollie, django_capture_on_commit_callbacks
):
    pay_first_invoice(owner_client, invoice, mollie, django_capture_on_commit_callbacks)
    generate_invoices(month=date(2026, 11, 1))
    collect_open_invoices()
    november = Invoice.objects.get(customer=customer, period_start=date(2026, 11, 1))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        mollie.settle(november.payments.get().mollie_id, "failed")
    november.refresh_from_db()
    assert november.status == Invoice.Status.OPEN
    (message,) = mail.outbox
    assert "did not go through" in message.subject
    assert f"/billing/invoices/{november.pk}/" in message.body
    assert collect_open_invoices() == 0  # not debited again: the customer pays with the link


def test_charge_back_reopens_the_invoice_emails_suspends_after_grace_and_payment_lifts_it(
    owner_client, customer, invoice, mollie, travel, settings, django_capture_on_commit_callbacks
):
    payment = pay_first_invoice(owner_client, invoice, mollie, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        mollie.charge_back(payment.mollie_id)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN and invoice.paid_at is None
    (message,) = mail.outbox
    assert "reversed" in message.subject and "owner@example.com" in message.to
    assert f"/billing/invoices/{invoice.pk}/" in message.body
    assert actions(customer, "invoice.reopened") == 1
    mollie.call_webhook(payment.mollie_id)  # replayed: reopened once
    assert actions(customer, "invoice.reopened") == 1

    overdue_day = invoice.due_date + timedelta(days=1)
    travel(overdue_day)
    assert send_overdue_reminders(today=overdue_day) == 1
    Invoice.objects.filter(pk=invoice.pk).update(
        reminder_sent_at=timezone.make_aware(timezone.datetime(2026, 12, 21, 9))
    )
    grace_over = date(2026, 12, 21) + timedelta(days=settings.PAYMENT_GRACE_DAYS)
    assert suspend_unpaid_customers(today=grace_over - timedelta(days=1)) == 0
    travel(grace_over + timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert suspend_unpaid_customers(today=grace_over + timedelta(days=1)) == 1
    customer.refresh_from_db()
    assert customer.is_suspended
    assert any("suspended" in m.subject for m in mail.outbox)

    # Suspended, the customer may still pay (nothing else); paying lifts the suspension.
    second = start_paying(owner_client, invoice, mollie)
    assert second["sequenceType"] == "oneoff"  # the mandate exists already
    with django_capture_on_commit_callbacks(execute=True):
        mollie.settle(second["id"], "paid")
    customer.refresh_from_db()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert not customer.is_suspended
    assert actions(customer, "customer.reactivated") == 1


def test_a_suspension_by_staff_is_not_lifted_by_a_payment(
    owner_client, customer, invoice, mollie, django_capture_on_commit_callbacks
):
    Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.SUSPENDED)
    pay_first_invoice(owner_client, invoice, mollie, django_capture_on_commit_callbacks)
    customer.refresh_from_db()
    assert customer.is_suspended


def test_owners_and_the_billing_role_see_payments_members_do_not(
    owner_client, billing_client, member_client, invoice, mollie, django_capture_on_commit_callbacks
):
    pay_first_invoice(owner_client, invoice, mollie, django_capture_on_commit_callbacks)
    url = reverse("billing:payment_list")
    for client in (owner_client, billing_client):
        page = client.get(url).content.decode()
        assert invoice.number in page and "Authorised" in page
    assert member_client.get(url).status_code == 403
    assert member_client.post(pay_url(invoice)).status_code == 403


def test_another_customers_invoice_cannot_be_paid(outsider_client, invoice, mollie):
    assert outsider_client.post(pay_url(invoice)).status_code == 404
    assert not mollie.payments


def test_mollie_being_unreachable_says_so_and_changes_nothing(owner_client, invoice, mollie, settings):
    settings.MOLLIE_API_ENDPOINT = "http://127.0.0.1:9"  # nothing listens there
    response = owner_client.post(pay_url(invoice), follow=True)
    assert "not available right now" in response.content.decode()
    assert not Payment.objects.exists()


def test_payments_are_audited_and_members_do_not_read_them(
    owner_client, member, customer, invoice, mollie, django_capture_on_commit_callbacks
):
    pay_first_invoice(owner_client, invoice, mollie, django_capture_on_commit_callbacks)
    visible_to_member = AuditEntry.objects.visible_to(member.membership).values_list("action", flat=True)
    assert not [a for a in visible_to_member if a.startswith(("payment.", "mandate.", "invoice."))]
    assert actions(customer, "payment.started") == 1


def test_staff_see_every_payment_and_can_still_record_a_bank_transfer(
    staff_client, owner_client, customer, invoice, mollie, django_capture_on_commit_callbacks, history
):
    payment = pay_first_invoice(owner_client, invoice, mollie, django_capture_on_commit_callbacks)
    page = staff_client.get("/admin/billing/payment/").content.decode()
    assert payment.mollie_id in page and invoice.number in page
    assert (
        payment.mollie_id in staff_client.get(f"/admin/billing/invoice/{invoice.pk}/change/").content.decode()
    )
    assert staff_client.get(f"/admin/billing/payment/{payment.pk}/change/").status_code == 200
    assert staff_client.get("/admin/billing/paymentaccount/").status_code == 200
    assert staff_client.get("/admin/billing/refund/").status_code == 200

    generate_invoices(month=date(2026, 11, 1))
    november = Invoice.objects.get(customer=customer, period_start=date(2026, 11, 1))
    staff_client.post(
        "/admin/billing/invoice/",
        {
            "action": "mark_paid_action",
            "_selected_action": [november.pk],
            "apply": "1",
            "paid_on": timezone.localdate().isoformat(),
            "reference": "NL12 overboeking",
        },
    )
    november.refresh_from_db()
    assert november.status == Invoice.Status.PAID and november.payment_reference == "NL12 overboeking"


def test_an_invoice_paid_twice_gets_the_online_payment_refunded_and_refunds_follow_mollie(
    owner_client, staff, customer, invoice, mollie, django_capture_on_commit_callbacks
):
    from billing.models import Refund
    from billing.services import mark_paid
    from tenants.audit import Actor

    mollie_payment = start_paying(owner_client, invoice, mollie)
    mark_paid(invoice=invoice, paid_on=timezone.localdate(), reference="bank", actor=Actor(user=staff))
    with django_capture_on_commit_callbacks(execute=True):
        mollie.settle(mollie_payment["id"], "paid")
    invoice.refresh_from_db()
    assert invoice.payment_reference == "bank"
    assert [r.content for r in mollie.webhook_responses] == [b"updated"]
    (refund,) = Refund.objects.all()
    assert mollie.refunds[refund.mollie_id]["amount"]["value"] == f"{invoice.total_incl_vat:.2f}"
    assert refund.status == "pending"

    mollie.refunds[refund.mollie_id]["status"] = "refunded"
    mollie.call_webhook(mollie_payment["id"])
    refund.refresh_from_db()
    assert refund.status == "refunded"
    assert Payment.objects.get().amount_refunded == invoice.total_incl_vat


def test_the_dashboard_asks_owners_and_the_billing_role_to_pay_an_overdue_invoice(
    owner_client, billing_client, member_client, invoice, travel
):
    travel(invoice.due_date + timedelta(days=1))
    for client in (owner_client, billing_client):
        page = client.get("/").content.decode()
        assert f"Invoice {invoice.number}" in page and f"/billing/invoices/{invoice.pk}/#pay" in page
    assert invoice.number not in member_client.get("/").content.decode()
