"""/robots.txt keeps the panel out of search engines; /.well-known/security.txt (RFC 9116) says whom to tell
about a security problem."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from django.utils import timezone

from postbode.views import SECURITY_TXT_DAYS, security_contact_uri


def test_robots_txt_keeps_every_page_out_of_search_engines(db):
    response = Client().get("/robots.txt")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == "User-agent: *\nDisallow: /\n"


def test_security_txt_names_the_contact_languages_and_an_expiry_within_a_year(db, settings):
    settings.SECURITY_CONTACT = "security@postbode.nl"
    settings.SITE_URL = "https://panel.postbode.nl"
    response = Client().get("/.well-known/security.txt")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    fields = dict(line.split(": ", 1) for line in response.content.decode().splitlines())
    assert fields["Contact"] == "mailto:security@postbode.nl"
    assert fields["Preferred-Languages"] == "nl, en"
    assert fields["Canonical"] == "https://panel.postbode.nl/.well-known/security.txt"
    expires = datetime.strptime(fields["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert (
        timezone.now() + timedelta(days=SECURITY_TXT_DAYS - 1)
        < expires
        < timezone.now() + timedelta(days=365)
    )


@pytest.mark.parametrize(
    ("contact", "uri"),
    [
        ("security@postbode.nl", "mailto:security@postbode.nl"),
        ("mailto:security@postbode.nl", "mailto:security@postbode.nl"),
        ("https://postbode.nl/security", "https://postbode.nl/security"),
        ("security@postbode.nl\nContact: mailto:evil@example.com", None),
        ("a b@postbode.nl", None),
        ("http://postbode.nl/security", None),
        ("postbode.nl", None),
        ("", None),
    ],
)
def test_only_an_address_or_an_https_url_becomes_the_contact(contact, uri):
    assert security_contact_uri(contact) == uri


def test_a_contact_that_is_neither_answers_404_and_the_check_says_why(db, settings):
    settings.SECURITY_CONTACT = "security@postbode.nl\nExpires: 2099-01-01T00:00:00Z"
    assert Client().get("/.well-known/security.txt").status_code == 404
    with pytest.raises(SystemCheckError, match="postbode.W001"):
        call_command("check", "--fail-level", "WARNING")
