"""Sign up, pay the first invoice on the (test) payment page of a server that answers like Mollie, see it paid."""

import re
from datetime import date, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from billing.models import Invoice, PaymentAccount
from billing.services import generate_invoices, previous_month, start_of_day
from tenants.models import Customer, Subscription
from tests.browser.test_onboarding import submit, wait_for_mail
from tests.conftest import PASSWORD
from tests.fake_mollie import FakeMollie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mollie(settings, live_server):
    fake = FakeMollie().start()  # its webhooks are real HTTP requests to the live server
    settings.MOLLIE_API_KEY = "test_postbodeTestKey0000000000000000"
    settings.MOLLIE_API_ENDPOINT = fake.url
    settings.PAYMENT_WEBHOOK_BASE_URL = live_server.url
    settings.PAYMENT_REDIRECT_BASE_URL = live_server.url
    yield fake
    fake.stop()


def sign_up(page, live_server) -> Customer:
    mail.outbox.clear()
    page.goto("/accounts/signup/")
    page.fill("input[name=email]", "betaler@winkel.example")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    submit(page)
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", wait_for_mail(1).body).group(0)
    page.goto(link.replace(re.match(r"https?://[^/]+", link).group(0), live_server.url))
    submit(page)
    page.wait_for_url("**/onboarding/")
    page.fill("input[name=name]", "Winkel de Betaler")
    page.fill("input[name=address]", "Dorpsstraat 5")
    page.fill("input[name=postal_code]", "1234 AB")
    page.fill("input[name=city]", "Utrecht")
    page.locator("input[name=plan]").first.check()
    submit(page)
    page.wait_for_url(f"{live_server.url}/")
    return Customer.objects.get(name="Winkel de Betaler")


def test_sign_up_pay_the_first_invoice_on_the_payment_page_and_see_it_paid(page, shot, live_server, mollie):
    customer = sign_up(page, live_server)
    # A month passes: the subscription began last month, whose invoice is issued on the first.
    last_month = previous_month(timezone.localdate())
    Subscription.objects.filter(customer=customer).update(
        started_at=start_of_day(last_month + timedelta(days=9))
    )
    generate_invoices(month=last_month)
    invoice = Invoice.objects.get(customer=customer)

    page.goto("/billing/invoices/")
    page.locator(f"text={invoice.number}").first.click()
    page.wait_for_load_state()
    shot("payment-01-invoice-open")
    page.locator("#pay-online").click()
    page.wait_for_url(f"{mollie.url}/checkout/**")
    assert page.locator("#amount").inner_text() == f"EUR {invoice.total_incl_vat:.2f}"
    shot("payment-02-mollie-test-page")
    page.locator("#state-paid").click()

    page.wait_for_url(f"{live_server.url}/billing/invoices/{invoice.pk}/")
    shot("payment-03-invoice-paid")
    assert page.locator("#pay .badge-ok").count() == 1
    assert page.locator(".messages").count() == 1
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert PaymentAccount.objects.get(customer=customer).has_mandate
    assert date.today() >= invoice.paid_at


def test_an_owner_cancels_with_the_typed_name_and_sees_when_mail_stops(
    page, shot, live_server, owner, customer, domain
):
    from billing.models import Cancellation
    from tests.browser.test_billing_print import sign_in

    sign_in(page, live_server, owner)
    page.goto("/plan/")
    page.locator("#cancel-account a").click()
    page.wait_for_url("**/billing/cancel/")
    assert domain.name in page.locator("#consequences").inner_text()
    page.fill("input[name=confirm]", "verkeerd")
    page.locator("#confirm-cancel").click()
    page.wait_for_load_state()
    assert not Cancellation.objects.exists()
    page.fill("input[name=confirm]", customer.name)
    shot("cancel-01-confirm")
    page.locator("#confirm-cancel").click()
    page.wait_for_url("**/billing/cancel/")
    assert page.locator("#cancellation").count() == 1
    shot("cancel-02-done")
    assert Customer.objects.get(pk=customer.pk).is_closed  # within 30 days of sign-up: mail stops at once
