import logging
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from billing.models import Invoice
from billing.services import create_invoice_draft, generate_invoices, issue_credit_invoice, issue_invoice
from tenants.audit import Actor

LIST_URL = reverse("billing:invoice_list")


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


def detail_url(invoice) -> str:
    return reverse("billing:invoice_detail", args=[invoice.pk])


def test_anonymous_visitors_are_sent_to_login(client, invoice):
    for url in (LIST_URL, detail_url(invoice)):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_owner_sees_the_invoice_list_with_status_and_total(owner_client, invoice):
    response = owner_client.get(LIST_URL)
    assert response.status_code == 200
    assert invoice.number in response.text
    assert "€\xa05.45" in response.text
    assert "Open" in response.text


def test_the_list_is_filtered_by_status(owner_client, invoice, other_invoice, travel):
    travel(invoice.due_date + timedelta(days=1))
    assert invoice.number in owner_client.get(LIST_URL, {"status": "overdue"}).text
    assert "Overdue" in owner_client.get(LIST_URL).text
    assert invoice.number not in owner_client.get(LIST_URL, {"status": "paid"}).text
    assert invoice.number in owner_client.get(LIST_URL, {"status": "open"}).text


def test_hostile_filter_values_show_all_invoices_without_error(owner_client, invoice):
    for value in ("'; drop table billing_invoice; --", "<script>", "x" * 5000):
        response = owner_client.get(LIST_URL, {"status": value, "page": value})
        assert response.status_code == 200
        assert invoice.number in response.text


def test_the_list_never_shows_another_customers_invoices(owner_client, invoice, other_invoice):
    assert other_invoice.number not in owner_client.get(LIST_URL).text


def test_the_list_query_count_does_not_grow_with_invoices(
    owner_client, customer, history, django_assert_max_num_queries
):
    history(customer, [("basis", date(2025, 1, 1))])
    for month in range(1, 13):
        invoice = create_invoice_draft(customer=customer, month=date(2025, month, 1))
        issue_invoice(invoice=invoice, actor=Actor.system())
    issue_credit_invoice(original=Invoice.objects.first(), actor=Actor.system(), reason="x")
    with django_assert_max_num_queries(8):
        response = owner_client.get(LIST_URL)
    assert response.status_code == 200
    assert response.text.count("/billing/invoices/") >= 13


def test_the_owner_sees_a_printable_invoice(owner_client, invoice):
    response = owner_client.get(detail_url(invoice))
    assert response.status_code == 200
    text = response.text
    assert invoice.number in text
    assert "Bakkerij de Vries" in text and "Damrak 1" in text
    assert "€\xa04.50" in text and "€\xa00.95" in text and "€\xa05.45" in text
    # its print styles (A4, without the menu) come from its own stylesheet: no <style> under the page's policy
    assert re.search(r'<link rel="stylesheet" href="[^"]*/css/invoice\.css"', text)
    assert "@page { size: A4;" in Path(finders.find("css/invoice.css")).read_text()
    assert "Postbode B.V." in text


def test_a_billing_member_sees_invoices(billing_client, invoice):
    assert billing_client.get(LIST_URL).status_code == 200
    assert billing_client.get(detail_url(invoice)).status_code == 200


def test_a_member_without_the_billing_role_is_refused(member_client, invoice):
    assert member_client.get(LIST_URL).status_code == 403
    assert member_client.get(detail_url(invoice)).status_code == 403


def test_an_outsider_never_reaches_another_customers_invoice(outsider_client, invoice):
    assert outsider_client.get(detail_url(invoice)).status_code == 404


def test_an_unknown_invoice_is_a_404(owner_client, invoice):
    assert owner_client.get(reverse("billing:invoice_detail", args=[invoice.pk + 1000])).status_code == 404


def test_drafts_are_not_shown_to_customers(owner_client, customer, history):
    history(customer, [("basis", date(2026, 9, 1))])
    draft = create_invoice_draft(customer=customer, month=date(2026, 10, 1))
    assert owner_client.get(detail_url(draft)).status_code == 404
    assert detail_url(draft) not in owner_client.get(LIST_URL).text


def test_the_reverse_charge_invoice_shows_the_legal_note(owner_client, customer, history):
    customer.country = "DE"
    customer.vat_number = "DE123456789"
    customer.save()
    history(customer, [("basis", date(2026, 9, 1))])
    generate_invoices(month=date(2026, 10, 1))
    response = owner_client.get(detail_url(Invoice.objects.get()))
    assert "VAT reverse-charged, article 44 and 196 of Directive 2006/112/EC" in response.text
    assert "DE123456789" in response.text


def test_a_credit_invoice_references_the_original_both_ways(owner_client, invoice):
    credit = issue_credit_invoice(original=invoice, actor=Actor.system(), reason="Wrong plan")
    credit_page = owner_client.get(detail_url(credit)).text
    assert "Credit invoice" in credit_page and invoice.number in credit_page and "Wrong plan" in credit_page
    assert "€\xa0-5.45" in credit_page
    assert credit.number in owner_client.get(detail_url(invoice)).text


def test_the_invoice_page_speaks_dutch(owner_client, invoice):
    response = owner_client.get(detail_url(invoice), HTTP_ACCEPT_LANGUAGE="nl")
    # Dutch number formatting applies even before the catalogue is compiled.
    assert "€\xa05,45" in response.text


def test_invoices_appear_in_the_navigation_for_owners_only(owner_client, member_client, invoice):
    assert LIST_URL in owner_client.get(reverse("dashboard")).text
    assert LIST_URL not in member_client.get(reverse("dashboard")).text


def pdf_url(invoice) -> str:
    return reverse("billing:invoice_pdf", args=[invoice.pk])


def test_the_owner_downloads_the_invoice_as_pdf(owner_client, invoice):
    response = owner_client.get(pdf_url(invoice))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{invoice.number}.pdf"' in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF-")
    assert invoice.number.encode() in response.content  # in the document title


def test_a_pdf_writes_no_lines_to_the_log(owner_client, invoice, caplog):
    """fpdf2's font subsetting (fontTools) reported each of its steps at INFO: about 40 log lines a PDF."""
    with caplog.at_level(logging.INFO):
        assert owner_client.get(pdf_url(invoice)).status_code == 200
    assert not [record for record in caplog.records if record.name.startswith("fontTools")]


@pytest.mark.parametrize("language", ["en", "nl"])
def test_pdfs_of_credits_and_reverse_charge_invoices_with_any_name_render(
    owner_client, invoice, customer, history, language
):
    credit = issue_credit_invoice(original=invoice, actor=Actor.system(), reason="Ærgerlijk – fout 🙂")
    customer.name = "Łódź Café «Zoë» & Søn 🙂"
    customer.country = "PL"
    customer.vat_number = "PL1234567890"
    customer.save()
    generate_invoices(month=date(2026, 9, 1))
    foreign = Invoice.objects.get(period_start=date(2026, 9, 1))
    for each in (credit, foreign):
        response = owner_client.get(pdf_url(each), HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        assert response.content.startswith(b"%PDF-")


def test_the_pdf_is_guarded_like_the_invoice(client, member_client, outsider_client, invoice):
    assert "/accounts/login/" in client.get(pdf_url(invoice))["Location"]
    assert member_client.get(pdf_url(invoice)).status_code == 403
    assert outsider_client.get(pdf_url(invoice)).status_code == 404


def test_the_pdf_falls_back_to_a_built_in_font_without_dejavu(owner_client, customer, history, monkeypatch):
    from billing import pdf

    monkeypatch.setattr(pdf, "FONT_DIRS", [])
    customer.name = "Łódź Café 🙂"
    customer.save()
    history(customer, [("basis", date(2026, 9, 1))])
    generate_invoices(month=date(2026, 10, 1))
    invoice = Invoice.objects.get()
    response = owner_client.get(pdf_url(invoice))
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")
