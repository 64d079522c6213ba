"""A newcomer's first visit in a real browser: sign up, verify, onboard with a plan, add a domain, switch language."""

import re
import time

import pytest
from django.core import mail

from mailaccounts.models import Domain
from tenants.models import Customer
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def wait_for_mail(count: int, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while len(mail.outbox) < count:
        assert time.monotonic() < deadline, "no e-mail was sent"
        time.sleep(0.1)
    return mail.outbox[count - 1]


def submit(page):
    page.locator("main button[type=submit]").last.click()
    page.wait_for_load_state()


def test_newcomer_signs_up_onboards_and_adds_a_domain(page, shot, live_server):
    mail.outbox.clear()
    page.goto("/accounts/signup/")
    assert page.locator("html").get_attribute("lang") == "nl"
    page.fill("input[name=email]", "nieuw@winkel.example")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    shot("01-signup")
    submit(page)
    assert "/accounts/confirm-email/" in page.url
    shot("02-verification-sent")

    message = wait_for_mail(1)
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)
    page.goto(link.replace(re.match(r"https?://[^/]+", link).group(0), live_server.url))
    shot("03-confirm-email")
    submit(page)

    page.wait_for_url("**/onboarding/")
    page.fill("input[name=name]", "Winkel de Hoek")
    page.fill("input[name=address]", "Dorpsstraat 5")
    page.fill("input[name=postal_code]", "1234 AB")
    page.fill("input[name=city]", "Utrecht")
    page.fill("input[name=vat_number]", "NL004495445B01")
    page.locator("input[name=plan]").nth(1).check()
    assert page.locator(r"text=/€\s7,26/").count() >= 1  # Professional incl. 21% VAT, in Dutch notation
    shot("04-onboarding")
    submit(page)

    page.wait_for_url(f"{live_server.url}/")
    customer = Customer.objects.get(name="Winkel de Hoek")
    assert customer.plan.code == "professional"
    shot("05-dashboard-empty")

    page.goto("/domains/add/")
    page.fill("input[name=name]", "Bücher-Winkel.example")
    shot("06-domain-add")
    submit(page)
    domain = Domain.objects.get(customer=customer)
    assert domain.name == "xn--bcher-winkel-dlb.example"  # stored as punycode
    assert page.locator("#record-value").inner_text() == f"postbode-verify={domain.verification_token}"
    assert "bücher-winkel.example" in page.locator("h1").inner_text()
    shot("07-domain-detail")

    page.goto("/")
    assert page.locator("#attention").get_by_text("bücher-winkel.example").count() == 1
    shot("08-dashboard")

    page.locator(".lang-switch button[value=en]").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.get_by_text("Needs attention").count() == 1
    shot("09-dashboard-english")


def test_security_key_registration_works_with_a_virtual_authenticator(page, shot, live_server):
    """allauth's WebAuthn (passkeys) in our layout, with Chromium's virtual authenticator standing in for a key."""
    from allauth.mfa.models import Authenticator

    from tests.conftest import make_customer, make_user

    user = make_user("sleutel@winkel.example")
    make_customer("Sleutelwinkel", user)
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    page.goto("/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(f"{live_server.url}/")

    page.goto("/accounts/2fa/webauthn/add/")
    if "/reauthenticate/" in page.url:
        page.fill("input[name=password]", PASSWORD)
        page.press("input[name=password]", "Enter")
    page.wait_for_url("**/2fa/webauthn/add/")
    page.fill("input[name=name]", "Test key")
    page.check("input[name=passwordless]")  # a passkey: it can sign in without a password
    shot("10-security-key-add")
    page.click("#mfa_webauthn_add")
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    shot("11-security-key-added")
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.WEBAUTHN).count() == 1
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists()

    # sign out, then sign in with the passkey alone
    page.locator("header form button[type=submit]").last.click()
    page.wait_for_load_state()
    page.goto("/accounts/login/")
    assert "/accounts/login/" in page.url  # signed out: the login page does not bounce to the panel
    page.click("#passkey_login")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("header").get_by_text(user.email).count() == 1
    shot("12-signed-in-with-passkey")
