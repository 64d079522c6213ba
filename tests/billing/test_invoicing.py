from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from billing.models import ImmutableInvoiceError, Invoice, InvoiceLine, InvoiceNumberSequence
from billing.services import (
    BillingError,
    expected_next_invoice,
    generate_invoices,
    issue_credit_invoice,
    mark_paid,
    send_overdue_reminders,
)
from tenants.audit import Actor
from tenants.models import AuditEntry
from tests.conftest import make_customer, make_user

OCTOBER = date(2026, 10, 1)


@pytest.fixture
def october_invoice(customer, history, django_capture_on_commit_callbacks):
    history(customer, [("basis", date(2026, 9, 1)), ("professional", date(2026, 10, 11))])
    with django_capture_on_commit_callbacks(execute=True):
        generate_invoices(month=OCTOBER)
    return Invoice.objects.get(customer=customer)


def year_prefix() -> str:
    return f"{timezone.localdate().year}-"


def test_generation_issues_one_numbered_invoice_per_customer(october_invoice, customer):
    invoice = october_invoice
    assert invoice.status == Invoice.Status.OPEN
    assert invoice.number == f"{year_prefix()}000001"
    assert (invoice.period_start, invoice.period_end) == (date(2026, 10, 1), date(2026, 10, 31))
    assert invoice.due_date == timezone.localdate() + timedelta(days=14)
    # Basis 10/31 of 4.50 = 1.45, Professional 21/31 of 6.00 = 4.06
    assert [line.amount for line in invoice.lines.all()] == [Decimal("1.45"), Decimal("4.06")]
    assert invoice.total_excl_vat == Decimal("5.51")
    assert invoice.vat_amount == Decimal("1.16")
    assert invoice.total_incl_vat == Decimal("6.67")
    assert invoice.billed_name == customer.name
    assert AuditEntry.objects.filter(action="invoice.issued", customer=customer).count() == 1


def test_rerunning_generation_adds_nothing(october_invoice):
    result = generate_invoices(month=OCTOBER)
    assert result.created == []
    assert result.already_invoiced == 1
    assert Invoice.objects.count() == 1
    assert InvoiceNumberSequence.objects.get().last_number == 1


def test_numbers_follow_each_other_without_gaps(customer, outsider, history):
    other = outsider.membership.customer
    third = make_customer("Derde B.V.", make_user("third@example.net"))
    for each in (customer, other, third):
        history(each, [("basis", date(2026, 9, 1))])
    generate_invoices(month=date(2026, 9, 1))
    generate_invoices(month=OCTOBER)
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"{year_prefix()}{n:06d}" for n in range(1, 7)]


def test_customers_without_a_subscription_in_the_month_get_no_invoice(customer, history):
    history(customer, [("basis", date(2026, 11, 5))])
    assert generate_invoices(month=OCTOBER).created == []
    assert not Invoice.objects.exists()


def test_a_month_that_is_not_over_cannot_be_invoiced(customer):
    with pytest.raises(BillingError):
        generate_invoices(month=timezone.localdate())
    assert not Invoice.objects.exists()


def test_the_issue_email_goes_to_the_billing_address_with_the_totals(october_invoice, customer):
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [customer.billing_email]
    assert october_invoice.number in message.subject
    assert "€\xa05.51" in message.body
    assert "€\xa01.16" in message.body
    assert "€\xa06.67" in message.body
    html = message.alternatives[0][0]
    assert "€\xa06.67" in html and october_invoice.get_absolute_url() in html


@pytest.mark.parametrize("language", ["nl", "en"])
def test_emails_are_written_in_the_customers_language(
    customer, history, settings, django_capture_on_commit_callbacks, language
):
    """Whatever the panel's own language, the e-mail speaks the customer's (billing details)."""
    settings.LANGUAGE_CODE = "en" if language == "nl" else "nl"
    customer.language = language
    customer.save(update_fields=["language"])
    history(customer, [("basis", date(2026, 9, 1))])
    with django_capture_on_commit_callbacks(execute=True):
        generate_invoices(month=OCTOBER)
    [message] = mail.outbox
    # The amount is formatted in the customer's language's way, and the words are its own.
    if language == "nl":
        assert "€\xa05,45" in message.body and ": factuur " in message.subject
    else:
        assert "€\xa05.45" in message.body and ": invoice " in message.subject


def test_an_issued_invoice_cannot_be_edited(october_invoice):
    october_invoice.total_excl_vat = Decimal("1.00")
    with pytest.raises(ImmutableInvoiceError):
        october_invoice.save()
    with pytest.raises(ImmutableInvoiceError):
        october_invoice.save(update_fields=["total_excl_vat"])
    line = october_invoice.lines.first()
    line.amount = Decimal("0.01")
    with pytest.raises(ImmutableInvoiceError):
        line.save()
    with pytest.raises(ImmutableInvoiceError):
        line.delete()
    with pytest.raises(ImmutableInvoiceError):
        InvoiceLine(
            invoice=october_invoice,
            description="extra",
            period_start=OCTOBER,
            period_end=OCTOBER,
            days=1,
            days_in_month=31,
            unit_price=Decimal("1"),
            amount=Decimal("1"),
        ).save()
    with pytest.raises(ImmutableInvoiceError):
        Invoice.objects.get(pk=october_invoice.pk).delete()
    october_invoice.refresh_from_db()
    assert october_invoice.total_excl_vat == Decimal("5.51")
    assert october_invoice.lines.count() == 2


def test_marking_paid_records_date_and_reference(october_invoice, staff):
    today = timezone.localdate()
    mark_paid(invoice=october_invoice, paid_on=today, reference="BANK-42", actor=Actor(user=staff))
    october_invoice.refresh_from_db()
    assert (october_invoice.status, october_invoice.paid_at) == (Invoice.Status.PAID, today)
    assert october_invoice.payment_reference == "BANK-42"
    assert AuditEntry.objects.get(action="invoice.paid").actor == staff
    with pytest.raises(BillingError):
        mark_paid(invoice=october_invoice, paid_on=today, reference="again", actor=Actor(user=staff))


def test_a_payment_date_in_the_future_is_refused(october_invoice, staff):
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(BillingError):
        mark_paid(invoice=october_invoice, paid_on=tomorrow, reference="x", actor=Actor(user=staff))
    october_invoice.refresh_from_db()
    assert october_invoice.status == Invoice.Status.OPEN


def test_a_credit_invoice_negates_the_original_and_settles_it(october_invoice, staff):
    mail.outbox.clear()
    credit = issue_credit_invoice(original=october_invoice, actor=Actor(user=staff), reason="Wrong plan")
    october_invoice.refresh_from_db()
    assert credit.credit_for == october_invoice
    assert credit.number == f"{year_prefix()}000002"
    assert [line.amount for line in credit.lines.all()] == [Decimal("-1.45"), Decimal("-4.06")]
    assert (credit.total_excl_vat, credit.vat_amount, credit.total_incl_vat) == (
        Decimal("-5.51"),
        Decimal("-1.16"),
        Decimal("-6.67"),
    )
    # The original still says what it said; it is settled by the credit.
    assert october_invoice.total_incl_vat == Decimal("6.67")
    assert october_invoice.lines.count() == 2
    assert october_invoice.status == Invoice.Status.CREDITED
    assert credit.status == Invoice.Status.PAID
    assert credit.payment_reference == october_invoice.number


def test_crediting_a_paid_invoice_leaves_a_refund_open(october_invoice, staff):
    actor = Actor(user=staff)
    mark_paid(invoice=october_invoice, paid_on=timezone.localdate(), reference="BANK-1", actor=actor)
    credit = issue_credit_invoice(original=october_invoice, actor=actor, reason="Goodwill")
    october_invoice.refresh_from_db()
    assert october_invoice.status == Invoice.Status.PAID
    assert credit.status == Invoice.Status.OPEN
    assert (
        not Invoice.objects.overdue(timezone.localdate() + timedelta(days=60)).filter(pk=credit.pk).exists()
    )


def test_an_invoice_is_credited_once_and_credits_are_not_credited(october_invoice, staff):
    actor = Actor(user=staff)
    credit = issue_credit_invoice(original=october_invoice, actor=actor, reason="once")
    with pytest.raises(BillingError):
        issue_credit_invoice(original=october_invoice, actor=actor, reason="twice")
    with pytest.raises(BillingError):
        issue_credit_invoice(original=credit, actor=actor, reason="credit of credit")
    assert Invoice.objects.count() == 2


def test_a_credit_does_not_block_or_duplicate_the_next_generation(october_invoice, staff):
    issue_credit_invoice(original=october_invoice, actor=Actor(user=staff), reason="x")
    assert generate_invoices(month=OCTOBER).created == []


def test_the_credit_email_mentions_the_original_and_negative_totals(
    october_invoice, staff, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        credit = issue_credit_invoice(original=october_invoice, actor=Actor(user=staff), reason="Wrong plan")
    [message] = mail.outbox
    assert credit.number in message.subject
    assert october_invoice.number in message.body
    assert "€\xa0-6.67" in message.body
    assert "Please pay" not in message.body


def test_reverse_charge_for_an_eu_business_abroad(customer, history):
    customer.country = "BE"
    customer.vat_number = "BE0123456789"
    customer.save()
    history(customer, [("basis", date(2026, 9, 1))])
    generate_invoices(month=OCTOBER)
    invoice = Invoice.objects.get()
    assert invoice.reverse_charge
    assert (invoice.vat_rate, invoice.vat_amount) == (Decimal("0"), Decimal("0.00"))
    assert invoice.total_incl_vat == invoice.total_excl_vat == Decimal("4.50")
    assert invoice.billed_vat_number == "BE0123456789"
    assert "article 44 and 196 of Directive 2006/112/EC" in str(invoice.legal_note)


@pytest.mark.parametrize(
    ("country", "vat_number"),
    [("NL", "NL123456789B01"), ("BE", ""), ("US", "US-123")],
)
def test_others_pay_dutch_vat(customer, history, country, vat_number):
    customer.country = country
    customer.vat_number = vat_number
    customer.save()
    history(customer, [("basis", date(2026, 9, 1))])
    generate_invoices(month=OCTOBER)
    invoice = Invoice.objects.get()
    assert not invoice.reverse_charge
    assert invoice.vat_amount == Decimal("0.95")
    assert invoice.legal_note == ""


def test_the_billed_address_is_a_snapshot(october_invoice, customer):
    customer.name = "Renamed B.V."
    customer.save()
    october_invoice.refresh_from_db()
    assert october_invoice.billed_name == "Bakkerij de Vries"


def test_an_overdue_invoice_gets_one_reminder(october_invoice, customer, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    later = october_invoice.due_date + timedelta(days=1)
    assert send_overdue_reminders(today=october_invoice.due_date) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert send_overdue_reminders(today=later) == 1
        assert send_overdue_reminders(today=later + timedelta(days=1)) == 0
    [message] = mail.outbox
    assert message.to == [customer.billing_email]
    assert "overdue" in message.subject and october_invoice.number in message.subject
    assert "€\xa06.67" in message.body
    october_invoice.refresh_from_db()
    assert october_invoice.reminder_sent_at is not None


def test_paid_invoices_get_no_reminder(october_invoice, staff):
    mark_paid(invoice=october_invoice, paid_on=timezone.localdate(), reference="x", actor=Actor(user=staff))
    assert send_overdue_reminders(today=october_invoice.due_date + timedelta(days=30)) == 0


def test_the_next_invoice_is_estimated_from_the_current_plan(customer, history):
    history(customer, [("basis", date(2026, 9, 1)), ("professional", date(2026, 11, 16))])
    estimate = expected_next_invoice(customer, today=date(2026, 11, 20))
    assert estimate.issue_date == date(2026, 12, 1)
    assert [line.amount for line in estimate.lines] == [Decimal("2.25"), Decimal("3.00")]
    assert estimate.totals.incl_vat == Decimal("6.35")  # 5.25 + 1.10 VAT (1.1025)


def test_numbering_starts_again_each_year(customer, outsider, history, monkeypatch):
    """December is invoiced on 1 January: its number belongs to the new year."""
    other = outsider.membership.customer
    for each in (customer, other):
        history(each, [("basis", date(2026, 9, 1))])
    generate_invoices(month=OCTOBER)
    real_localdate = timezone.localdate

    def new_years_day(value=None, timezone=None):
        return date(2027, 1, 1) if value is None else real_localdate(value, timezone)

    monkeypatch.setattr(timezone, "localdate", new_years_day)
    generate_invoices(month=date(2026, 12, 1))
    december = Invoice.objects.filter(period_start=date(2026, 12, 1)).order_by("number")
    assert [i.number for i in december] == ["2027-000001", "2027-000002"]
    assert {i.year for i in december} == {2027}
    assert InvoiceNumberSequence.objects.get(year=2026).last_number == 2
