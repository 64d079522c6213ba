"""Every customer page (tests/customer_pages.py) in Dutch: free of English (and stiff Dutch) known to have leaked,
and of any sentence the English page shows word for word."""

import re

from tests.customer_pages import (
    NOT_FOUND_PATH,
    Demo,
    anonymous_page_paths,
    customer_page_paths,
    new_user_page_paths,
)
from tests.dutch_text import english_left, visible_texts

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
# Informal "je" everywhere; "u"/"uw" is formal Dutch (as a word of a sentence, not inside a key or a code), and
# so are "alstublieft" and its "a.u.b.".
FORMAL_YOU = re.compile(r"(?:^|\s)(?:[Uu]w|U|a\.u\.b\.|[Aa]lstublieft)(?=[\s,.!?:]|$)")
ENGLISH_MONTHS = re.compile(r"\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b")


# Values for programs that no reader sees or hears (the activity page's data-action="dkim.active").
DATA_ATTRIBUTE = re.compile(r'\sdata-[a-z-]+="[^"]*"')


def assert_dutch(path: str, html: str) -> None:
    shown = DATA_ATTRIBUTE.sub("", html)
    leaks = [leak for leak in KNOWN_LEAKS if leak in shown]
    assert not leaks, f"{path} shows {leaks}"
    assert not ENGLISH_MONTHS.search(html), f"{path} shows an English month: {ENGLISH_MONTHS.search(html)[0]}"
    assert '<html lang="nl">' in html
    formal = [text for text in visible_texts(html) if FORMAL_YOU.search(text)]
    assert not formal, f"{path} says u/uw: {formal}"


def test_main_pages_in_dutch_have_no_known_english_leaks(demo_client):
    for path in customer_page_paths(Demo.load()):
        response = demo_client.get(path)
        assert response.status_code == 200, path
        assert_dutch(path, response.content.decode())


def test_every_customer_page_in_dutch_has_no_sentence_of_the_english_page(demo_client):
    left = {}
    for path in customer_page_paths(Demo.load()):
        dutch = demo_client.get(path, headers={"accept-language": "nl"}).content.decode()
        english = demo_client.get(path, headers={"accept-language": "en"}).content.decode()
        assert '<html lang="en">' in english
        if found := english_left(dutch, english):
            left[path] = found
    assert not left, left


def test_sign_in_pages_onboarding_and_404_in_dutch(client, owner):
    pages = [(path, False) for path in anonymous_page_paths()]
    pages += [(path, True) for path in [*new_user_page_paths(), NOT_FOUND_PATH]]
    for path, signed_in in pages:
        if signed_in:
            client.force_login(owner)  # signed up, no customer yet
        dutch = client.get(path, headers={"accept-language": "nl"}).content.decode()
        assert_dutch(path, dutch)
        assert not english_left(dutch, client.get(path, headers={"accept-language": "en"}).content.decode())


def test_the_english_check_finds_an_untranslated_sentence():
    dutch = (
        "<p>Toegestane afzenders</p><p>Mail from these senders is never filed as spam.</p><p>info@x.nl</p>"
    )
    english = "<p>Allowed senders</p><p>Mail from these senders is never filed as spam.</p><p>info@x.nl</p>"
    assert english_left(dutch, english) == ["Mail from these senders is never filed as spam."]
    assert english_left("<p>Afwezig / Out of office</p>", "<p>Afwezig / Out of office</p>") == []


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


def test_every_action_in_the_demo_activity_log_has_words(demo_client):
    """The activity page shows "Spamfilter van een domein gewijzigd", never a code like "spam_list.add"."""
    from tenants.models import AUDIT_ACTION_LABELS, AuditEntry

    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"dkim.active", "spam_list.add", "devices.shared_collections"} <= actions
    assert actions - set(AUDIT_ACTION_LABELS) == set()
