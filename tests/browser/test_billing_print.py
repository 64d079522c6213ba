"""The invoice page in a real browser: Dutch formatting on screen, and a print layout without the panel."""

from datetime import date

import pytest
from django.conf import settings
from django.test import Client

from billing.models import Invoice
from billing.services import generate_invoices
from tests.billing.conftest import set_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


def test_the_invoice_prints_cleanly(page, live_server, shot, owner, customer):
    set_history(customer, [("basis", date(2026, 9, 1)), ("professional", date(2026, 10, 11))])
    generate_invoices(month=date(2026, 10, 1))
    invoice = Invoice.objects.get()
    sign_in(page, live_server, owner)

    page.goto("/billing/invoices/")
    assert invoice.number in page.locator("table").inner_text()
    shot("billing-invoice-list")
    page.click(f"text={invoice.number}")
    page.wait_for_url(f"**/billing/invoices/{invoice.pk}/")
    assert page.locator(".sidenav").is_visible()
    assert page.locator("#print-invoice").is_visible()
    page.evaluate("window.print = () => { window.printed = true; }")
    page.click("#print-invoice")  # its handler is in static/js/postbode.js: no script is written into a page
    assert page.evaluate("window.printed === true")
    assert "€\xa06,67" in page.locator(".invoice-doc").inner_text()  # Dutch amounts (nl-NL browser)
    shot("billing-invoice-screen")

    page.emulate_media(media="print")
    assert not page.locator(".sidenav").is_visible()
    assert not page.locator(".topbar").is_visible()
    assert not page.locator("#print-invoice").is_visible()
    document = page.locator(".invoice-doc")
    assert document.is_visible()
    assert invoice.number in document.inner_text()
    shot("billing-invoice-print")
    assert page.pdf(format="A4")[:5] == b"%PDF-"


def test_the_plan_screen_shows_the_next_invoice(page, live_server, shot, owner, customer):
    set_history(customer, [("basis", date(2025, 1, 1))])
    sign_in(page, live_server, owner)
    page.goto("/plan/")
    estimate = page.locator("#next-invoice")
    assert "€\xa05,45" in estimate.inner_text()
    shot("billing-plan-next-invoice")
