from datetime import date, timedelta

import pytest
from django.contrib.admin import helpers
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice
from billing.services import generate_invoices, mark_paid
from tenants.audit import Actor
from tenants.models import AuditEntry

CHANGELIST = reverse("admin:billing_invoice_changelist")


@pytest.fixture
def invoice(customer, history):
    history(customer, [("basis", date(2026, 9, 1))])
    generate_invoices(month=date(2026, 10, 1))
    return Invoice.objects.get(customer=customer)


@pytest.fixture
def other_invoice(other_customer, history):
    history(other_customer, [("professional", date(2026, 9, 1))])
    generate_invoices(month=date(2026, 10, 1))
    return Invoice.objects.get(customer=other_customer)


def test_staff_search_invoices_by_number_and_customer(staff_client, invoice, other_invoice):
    by_number = staff_client.get(CHANGELIST, {"q": invoice.number}).text
    assert invoice.number in by_number and other_invoice.number not in by_number
    by_customer = staff_client.get(CHANGELIST, {"q": "Concurrent"}).text
    assert other_invoice.number in by_customer and invoice.number not in by_customer


def test_staff_filter_overdue_invoices(staff_client, staff, invoice, other_invoice, travel):
    mark_paid(invoice=other_invoice, paid_on=timezone.localdate(), reference="x", actor=Actor(user=staff))
    travel(invoice.due_date + timedelta(days=1))
    overdue = staff_client.get(CHANGELIST, {"overdue": "yes"}).text
    assert invoice.number in overdue and other_invoice.number not in overdue
    not_overdue = staff_client.get(CHANGELIST, {"overdue": "no"}).text
    assert other_invoice.number in not_overdue and invoice.number not in not_overdue
    assert invoice.number not in staff_client.get(CHANGELIST, {"status__exact": "paid"}).text


def test_an_issued_invoice_is_read_only_in_the_admin(staff_client, invoice):
    url = reverse("admin:billing_invoice_change", args=[invoice.pk])
    page = staff_client.get(url)
    assert page.status_code == 200
    assert 'name="total_excl_vat"' not in page.text
    assert 'name="lines-0-amount"' not in page.text
    staff_client.post(url, {"total_excl_vat": "1.00"})
    invoice.refresh_from_db()
    assert str(invoice.total_excl_vat) == "4.50"
    assert staff_client.post(reverse("admin:billing_invoice_delete", args=[invoice.pk])).status_code == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def action_post(client, action, invoice, **fields):
    data = {"action": action, helpers.ACTION_CHECKBOX_NAME: [invoice.pk], **fields}
    return client.post(CHANGELIST, data)


def test_mark_paid_asks_for_date_and_reference_first(staff_client, staff, invoice):
    page = action_post(staff_client, "mark_paid_action", invoice)
    assert page.status_code == 200
    assert 'name="paid_on"' in page.text and 'name="reference"' in page.text
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN

    today = timezone.localdate()
    done = action_post(
        staff_client, "mark_paid_action", invoice, apply="1", paid_on=today.isoformat(), reference="NL-BANK-7"
    )
    assert done.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_at, invoice.payment_reference) == ("paid", today, "NL-BANK-7")
    entry = AuditEntry.objects.get(action="invoice.paid")
    assert entry.actor == staff and entry.actor_kind == "staff"


@pytest.mark.parametrize(
    "fields",
    [
        {"paid_on": "not-a-date", "reference": "x"},
        {"paid_on": "2999-01-01", "reference": "x"},
        {"paid_on": "", "reference": "x"},
        {"paid_on": "2026-11-01", "reference": ""},
        {"paid_on": "2026-11-01", "reference": "x" * 101},
    ],
)
def test_mark_paid_refuses_bad_input_with_a_form_error(staff_client, invoice, fields):
    page = action_post(staff_client, "mark_paid_action", invoice, apply="1", **fields)
    assert page.status_code == 200
    assert "errorlist" in page.text
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN


def test_staff_issue_a_credit_invoice_with_a_reason(staff_client, invoice, customer):
    assert 'name="reason"' in action_post(staff_client, "issue_credit_action", invoice).text
    done = action_post(staff_client, "issue_credit_action", invoice, apply="1", reason="Double billed")
    assert done.status_code == 302
    credit = Invoice.objects.get(credit_for=invoice)
    assert credit.credit_reason == "Double billed"
    assert str(credit.total_incl_vat) == "-5.45"
    # A second credit is refused with a message, and nothing is created.
    action_post(staff_client, "issue_credit_action", invoice, apply="1", reason="again")
    assert Invoice.objects.filter(credit_for=invoice).count() == 1
    original_page = staff_client.get(reverse("admin:billing_invoice_change", args=[invoice.pk])).text
    assert credit.number in original_page


def test_customers_cannot_reach_the_admin(owner_client, invoice):
    response = owner_client.get(CHANGELIST)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
