"""The refusals a user can meet in the panel's own look and language: a page their role does not include
(403), a form sent with an expired CSRF token (403), a request Django refuses as malformed (400)."""

import pytest
from django.test import Client

from mailaccounts.models import Mailbox
from tenants.models import Membership
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing_user(customer):
    user = make_user("books@example.com")
    Membership.objects.create(user=user, customer=customer, role=Membership.Role.BILLING)
    return user


def signed_in(user, language="nl", **options) -> Client:
    client = Client(headers={"accept-language": language}, **options)
    client.force_login(user)
    return client


def test_a_page_the_role_does_not_include_says_so_in_dutch_with_the_way_back(billing_user, customer):
    response = signed_in(billing_user).get("/mailboxes/")
    page = response.content.decode()
    assert response.status_code == 403
    assert '<html lang="nl">' in page and 'id="error-page"' in page
    assert "Je hebt geen toegang tot deze pagina" in page
    assert f"Je rol bij {customer.name} is ‘Financieel’" in page and "onder Team" in page
    assert 'href="/"' in page and "Terug naar het overzicht" in page
    assert 'href="/billing/invoices/"' in page  # the layout's menu, with what the role does include


def test_the_same_page_in_english_names_the_role(billing_user, customer):
    page = signed_in(billing_user, "en").get("/mailboxes/").content.decode()
    assert "<h1>You don't have access to this page</h1>" in page
    assert f"Your role at {customer.name} is “Billing”" in page


def test_a_customers_user_at_the_staff_login_is_told_it_is_for_staff(owner, customer):
    response = signed_in(owner, "en").get("/admin/login/")
    assert response.status_code == 403
    assert "This part of the panel is for staff only" in response.content.decode()


def test_a_form_sent_with_an_expired_token_changes_nothing_and_leads_back_to_its_page(owner, domain):
    client = signed_in(owner, enforce_csrf_checks=True)
    client.get("/mailboxes/add/")  # the CSRF cookie of this browser
    client.cookies["csrftoken"] = "x" * 32  # ... replaced since the form was loaded
    data = {"domain": domain.pk, "local_part": "nieuw", "password": "Lang-Genoeg-Wachtwoord-7"}
    response = client.post(
        "/mailboxes/add/",
        data,
        headers={"referer": "http://testserver/mailboxes/add/"},
        csrfmiddlewaretoken="y",
    )
    page = response.content.decode()
    assert response.status_code == 403
    assert "Dit formulier is verlopen" in page and "Er is niets opgeslagen" in page
    assert 'href="http://testserver/mailboxes/add/"' in page and "Open de pagina opnieuw" in page
    assert "CSRF" not in page and "Sta dan cookies toe" not in page
    assert not Mailbox.objects.filter(local_part="nieuw").exists()


def test_without_a_cookie_the_page_asks_for_cookies_and_a_foreign_referer_is_not_followed(owner):
    client = signed_in(owner, "en", enforce_csrf_checks=True)
    response = client.post("/mailboxes/add/", {}, headers={"referer": "https://evil.example/form"})
    page = response.content.decode()
    assert response.status_code == 403 and "This form has expired" in page
    assert "allow cookies for this site" in page
    assert "evil.example" not in page and 'href="/"' in page


def test_a_sign_in_form_left_open_gets_the_page_too(db):
    client = Client(enforce_csrf_checks=True, headers={"accept-language": "nl"})
    response = client.post(
        "/accounts/login/",
        {"login": "someone@example.com", "password": "x"},
        headers={"referer": "http://testserver/accounts/login/"},
    )
    assert response.status_code == 403
    assert 'href="http://testserver/accounts/login/"' in response.content.decode()


def test_a_request_django_refuses_gets_our_400_page_in_dutch(owner, customer, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    response = signed_in(owner).post("/mailboxes/add/", {f"field{n}": "x" for n in range(20)})
    page = response.content.decode()
    assert response.status_code == 400
    assert '<html lang="nl">' in page and "Dit verzoek kon niet worden verwerkt" in page
    assert "Er is niets gewijzigd" in page and 'href="/"' in page


def test_opening_the_address_of_a_button_explains_it_and_does_nothing(owner_client, domain):
    from relay.models import RelayCredential
    from relay.services import create_credential
    from tenants.audit import Actor

    credential, _secret = create_credential(
        customer=domain.customer, name="webshop", domains=[domain], actor=Actor.system()
    )
    url = f"/relay/credentials/{credential.pk}/toggle/"
    response = owner_client.get(
        url, headers={"accept": "text/html,*/*", "referer": "http://testserver/relay/credentials/"}
    )
    page = response.content.decode()
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert "only works from its button" in page and "Nothing was done" in page
    assert 'href="http://testserver/relay/credentials/"' in page
    assert RelayCredential.objects.get(pk=credential.pk).is_enabled


def test_a_program_asking_with_the_wrong_method_keeps_the_bare_answer(owner_client, domain):
    response = owner_client.get(f"/domains/{domain.pk}/dns/check/", headers={"accept": "application/json"})
    assert response.status_code == 405 and response.content == b""


def test_an_action_tried_too_often_gets_a_page_that_says_to_wait_in_dutch(owner, settings):
    """allauth's rate limits (here: a sixth password reset for one address within a minute) answer 429 with
    our page instead of its bare English one."""
    from django.core.cache import cache

    settings.SUPPORT_PHONE = "+31 30 765 4321"
    client = Client(headers={"accept-language": "nl"})
    cache.clear()
    responses = [client.post("/accounts/password/reset/", {"email": owner.email}) for _ in range(6)]
    cache.clear()
    assert [response.status_code for response in responses] == [302] * 5 + [429]
    page = responses[-1].content.decode()
    assert '<html lang="nl">' in page and "Te veel pogingen" in page and "Wacht een paar minuten" in page
    assert 'href="tel:+31307654321"' in page
