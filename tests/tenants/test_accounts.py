"""Sign-up, login, password reset, rate limiting and the security page, through allauth in our layout."""

import re

import pytest
from django.core import mail
from django.core.cache import cache

from tenants.models import User
from tests.conftest import PASSWORD, make_user


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def test_signup_requires_email_verification_then_onboarding(client, db):
    response = client.post(
        "/accounts/signup/", {"email": "nieuw@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/")["Location"].startswith("/accounts/login/")  # not signed in before verifying
    link = re.search(r"https?://[^/]+(/accounts/confirm-email/\S+/)", mail.outbox[-1].body).group(1)
    response = client.post(link)
    assert response["Location"] == "/onboarding/"
    assert client.get("/onboarding/").status_code == 200


def test_confirming_in_another_browser_continues_signed_in_once(client, db):
    from django.test import Client

    client.post(
        "/accounts/signup/", {"email": "nieuw@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    link = re.search(r"https?://[^/]+(/accounts/confirm-email/\S+/)", mail.outbox[-1].body).group(1)
    phone = Client()  # the link opened from the mail app on a phone: another browser, no sign-up session
    response = phone.post(link)
    assert response["Location"] == "/onboarding/"
    assert phone.get("/onboarding/").status_code == 200
    again = Client()  # the same link once more signs nobody in
    again.post(link)
    assert again.get("/onboarding/")["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("email", "password", "error"),
    [
        ("not-an-email", PASSWORD, "Enter a valid email address"),
        ("ok@example.com", "password123", "too common"),
        ("ok@example.com", "short", "too short"),
    ],
)
def test_signup_bad_input_gets_a_form_error(client, owner, email, password, error):
    response = client.post(
        "/accounts/signup/", {"email": email, "password1": password, "password2": password}
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert User.objects.count() == 1


def test_signup_with_a_registered_address_creates_nothing_and_reveals_nothing(client, owner):
    response = client.post(
        "/accounts/signup/", {"email": "owner@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response["Location"] == "/accounts/confirm-email/"  # same answer as for a new address
    assert User.objects.count() == 1
    assert mail.outbox[-1].to == ["owner@example.com"]


def test_login_by_email(client, owner, customer):
    response = client.post("/accounts/login/", {"login": "OWNER@example.com", "password": PASSWORD})
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_repeated_failed_logins_are_rate_limited(client, owner):
    for _attempt in range(5):
        response = client.post("/accounts/login/", {"login": owner.email, "password": "wrong-password"})
        assert "Too many failed login attempts" not in response.content.decode()
    response = client.post("/accounts/login/", {"login": owner.email, "password": PASSWORD})
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_password_reset_sends_a_working_link(client, owner):
    client.post("/accounts/password/reset/", {"email": owner.email})
    link = re.search(r"https?://[^/]+(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body).group(1)
    form_page = client.get(link, follow=True)
    new_password = "Another-Strong-Passw0rd"
    client.post(form_page.redirect_chain[-1][0], {"password1": new_password, "password2": new_password})
    owner.refresh_from_db()
    assert owner.check_password(new_password)


def test_allauth_pages_use_the_panel_layout(client, db):
    for path in ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]:
        page = client.get(path).content.decode()
        assert "css/postbode.css" in page, path
        assert 'class="content narrow card"' in page, path


def test_security_page_links_to_allauth(owner_client):
    page = owner_client.get("/security/").content.decode()
    for path in ["/accounts/email/", "/accounts/password/change/", "/accounts/2fa/", "/accounts/sessions/"]:
        assert f'href="{path}"' in page, path


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/2fa/",
        "/accounts/sessions/",
    ],
)
def test_account_pages_render_in_the_panel(owner_client, path):
    response = owner_client.get(path)
    assert response.status_code == 200
    assert 'class="sidenav"' in response.content.decode()


def test_mfa_pages_offer_totp_recovery_codes_and_security_keys(client, owner, customer):
    client.post("/accounts/login/", {"login": owner.email, "password": PASSWORD})
    index = client.get("/accounts/2fa/").content.decode()
    assert "/accounts/2fa/totp/activate/" in index
    assert "/accounts/2fa/webauthn/add/" in index
    reauthenticate = client.get("/accounts/2fa/webauthn/add/")["Location"]
    assert reauthenticate.startswith("/accounts/reauthenticate/")
    client.post(reauthenticate, {"password": PASSWORD})
    webauthn = client.get("/accounts/2fa/webauthn/add/")
    assert webauthn.status_code == 200
    assert b"mfa/js/webauthn.js" in webauthn.content  # allauth's passkey script runs in our layout
    totp = client.get("/accounts/2fa/totp/activate/")
    assert totp.status_code == 200 and b"data:image/svg+xml;base64" in totp.content  # the QR code


def test_passkey_login_is_offered(client, db):
    assert b"passkey_login" in client.get("/accounts/login/").content


@pytest.mark.parametrize(
    ("language", "login_word"), [("nl", "Wachtwoord vergeten?"), ("en", "Forgot your password?")]
)
def test_pages_render_in_the_requested_language(client, db, language, login_word):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<html lang="{language}">' in page
    assert login_word in page


def test_language_switch_sets_the_cookie(client, owner, customer):
    client.force_login(owner)
    response = client.post("/i18n/setlang/", {"language": "nl", "next": "/"})
    assert response["Location"] == "/"
    assert response.cookies["django_language"].value == "nl"
    assert '<html lang="nl">' in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert '<html lang="en">' in client.get("/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()


def test_unverified_user_cannot_log_in(client, db):
    make_user("half@example.com", verified=False)
    client.post("/accounts/login/", {"login": "half@example.com", "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_password_change(client, owner, customer):
    client.post("/accounts/login/", {"login": owner.email, "password": PASSWORD})
    new_password = "Brand-New-Passw0rd-42"
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": new_password, "password2": new_password},
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password(new_password)


def test_password_change_refuses_a_weak_password(client, owner, customer):
    client.post("/accounts/login/", {"login": owner.email, "password": PASSWORD})
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": "12345678", "password2": "12345678"},
    )
    assert response.status_code == 200
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)
