"""Every main page of a customer with data, in Dutch, free of English (and stiff Dutch) known to have leaked."""

import re

import pytest
from django.core.management import call_command
from django.test import Client

from postbode.management.commands.demo import OWNER_EMAIL
from tenants.models import Customer, User

# What was seen on Dutch pages before, and must not come back.
KNOWN_LEAKS = [
    "This password is too short",
    "Hallo van example.com",
    "Netherlands",
    "dkim.active",
    "NXDOMAIN",
    "record(s)",
    "Gebounced",
    "waarnamens",
    "Bevestigings e-mail",
    "In behandeling",
    "Ingeschakeld",
    ">Live<",
    ">Pending<",
    "DNS-problemen",
    " 0 minuten",
    "Nothing needs your attention",
    "Log out",
    "Dashboard",
    "Your own domains",
    "Phone and e-mail support",
    "Spam filter",
]
ENGLISH_MONTHS = re.compile(r"\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b")

MAIN_PAGES = [
    "/",
    "/domains/",
    "/mailboxes/",
    "/aliases/",
    "/dns/",
    "/relay/credentials/",
    "/relay/log/",
    "/plan/",
    "/billing/invoices/",
    "/billing/details/",
    "/team/",
    "/activity/",
    "/security/",
]


@pytest.fixture
def demo_client(db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    call_command("demo", verbosity=0)
    client = Client(headers={"accept-language": "nl"})
    client.force_login(User.objects.get(email=OWNER_EMAIL))
    return client


def detail_pages() -> list[str]:
    customer = Customer.objects.get(memberships__user__email=OWNER_EMAIL)
    domain = customer.domains.first()
    mailbox = customer.mailboxes.first()
    return [
        f"/domains/{domain.pk}/",
        f"/domains/{domain.pk}/dns/",
        f"/domains/{domain.pk}/delete/",
        f"/mailboxes/{mailbox.pk}/",
        f"/mailboxes/{mailbox.pk}/autoresponder/",
    ]


def assert_dutch(path: str, html: str) -> None:
    leaks = [leak for leak in KNOWN_LEAKS if leak in html]
    assert not leaks, f"{path} shows {leaks}"
    assert not ENGLISH_MONTHS.search(html), f"{path} shows an English month: {ENGLISH_MONTHS.search(html)[0]}"
    assert '<html lang="nl">' in html


def test_main_pages_in_dutch_have_no_known_english_leaks(demo_client):
    for path in MAIN_PAGES + detail_pages():
        response = demo_client.get(path)
        assert response.status_code == 200, path
        assert_dutch(path, response.content.decode())


def test_djangos_own_password_message_is_dutch(client, db):
    page = client.post(
        "/accounts/signup/",
        {"email": "nieuw@winkel.example", "password1": "kort", "password2": "kort"},
        HTTP_ACCEPT_LANGUAGE="nl",
    ).content.decode()
    assert "Dit wachtwoord is te kort. Het moet minimaal 10 tekens bevatten." in page
    assert_dutch("/accounts/signup/", page)


def test_countries_dates_and_the_site_name_are_dutch(demo_client, settings):
    from django.contrib.sites.models import Site

    page = demo_client.get("/billing/details/").content.decode()
    assert "Nederland" in page
    assert Site.objects.get_current().name == settings.SITE_NAME


def test_our_own_404_page_in_dutch(demo_client):
    response = demo_client.get("/bestaat-niet/")
    assert response.status_code == 404
    assert "Deze pagina bestaat niet" in response.content.decode()


def test_a_future_automatic_reply_is_scheduled_not_active(demo_client):
    from mailaccounts.models import Autoresponder

    autoresponder = Autoresponder.objects.get(mailbox__local_part="verkoop")
    page = demo_client.get(f"/mailboxes/{autoresponder.mailbox_id}/").content.decode()
    state = page.split('id="autoresponder-state"')[1].split("</p>")[0]
    assert "Gepland vanaf 24 december" in state and "Actief" not in state
