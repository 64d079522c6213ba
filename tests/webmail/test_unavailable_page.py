"""The page the webmail's nginx shows while PHP-FPM restarts: each apply renders it into the mail host's
`webmail/unavailable/<language>.html` (tests/integration/test_webmail_proxy.py runs it behind the real nginx)."""

import re
from pathlib import Path

import pytest

import tenants.standalone
import webmail.rendering
from mailhosts.apply import apply_host
from tenants.standalone import StandalonePageError
from tests.dutch_text import english_left
from tests.postbode.test_unavailable_pages import References

pytestmark = pytest.mark.django_db


def applied_pages(host) -> dict[str, Path]:
    apply_host(host.pk, force=True)
    folder = Path(host.config_dir) / "webmail" / "unavailable"
    return {path.name: path for path in folder.iterdir()}


def test_each_apply_writes_one_page_per_language_for_nginx_to_read(domain, settings):
    settings.SUPPORT_PHONE, settings.SUPPORT_EMAIL = "+31 20 555 0100", "hulp@example.nl"
    written = applied_pages(domain.mailhost)
    assert sorted(written) == ["en.html", "nl.html"]
    assert all(path.stat().st_mode & 0o777 == 0o644 for path in written.values())
    dutch, english = written["nl.html"].read_text(), written["en.html"].read_text()
    assert '<html lang="nl">' in dutch and "Webmail is zo terug" in dutch
    assert "Had je net een bericht verstuurd? Dan is het misschien niet verzonden" in dutch
    assert "Postbode Webmail" in dutch
    assert '<html lang="en">' in english and "Webmail will be back in a moment" in english
    for page in (dutch, english):
        assert 'href="tel:+31205550100"' in page and 'href="mailto:hulp@example.nl"' in page
    assert not english_left(dutch, english)


def test_the_page_needs_nothing_of_the_webmail_or_the_panel_to_show(domain):
    page = applied_pages(domain.mailhost)["nl.html"].read_text()
    references = References()
    references.feed(page)
    assert len(references.loads) == 1 and references.loads[0].startswith("data:image/svg+xml;")
    assert ".content.narrow" in references.style and ".button" in references.style
    assert not re.search(r"<script|/static/|https?://", page)


def test_a_changed_support_line_reaches_the_page_with_the_next_apply(domain, settings):
    applied_pages(domain.mailhost)
    settings.SUPPORT_EMAIL = "nieuw@example.nl"
    assert "nieuw@example.nl" in applied_pages(domain.mailhost)["en.html"].read_text()


def test_an_installation_without_the_stylesheet_still_applies_mail_without_the_pages(
    domain, monkeypatch, caplog
):
    """The page is a courtesy; the apply of mail's configuration does not wait on it."""
    webmail.rendering._unavailable_pages.clear()

    def missing(path):
        raise StandalonePageError(f"static file {path} not found")

    monkeypatch.setattr(tenants.standalone, "static_text", missing)
    result = apply_host(domain.mailhost.pk, force=True)
    assert (
        result.revision >= 0 and not (Path(domain.mailhost.config_dir) / "webmail" / "unavailable").exists()
    )
    assert "the webmail's unavailable pages were not written" in caplog.text
    assert (Path(domain.mailhost.config_dir) / "webmail" / "roundcube.json").exists()
