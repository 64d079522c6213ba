"""`manage.py unavailable_pages`: the pages nginx shows while the panel restarts (tests/integration/
test_panel_proxy.py runs them behind the real nginx)."""

import re
from html.parser import HTMLParser

from django.core.management import call_command

from tests.dutch_text import english_left


class References(HTMLParser):
    """Every address the page would load or link to, and the text of its <style>."""

    def __init__(self):
        super().__init__()
        self.loads, self.links, self.style, self._in_style = [], [], "", False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in_style = tag == "style"
        if tag == "a":
            self.links.append(attrs.get("href"))
        for name in ("src", "href"):
            if name in attrs and tag != "a":
                self.loads.append(attrs[name])

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style += data


def pages(tmp_path, settings, **support) -> dict[str, str]:
    for name, value in support.items():
        setattr(settings, name, value)
    call_command("unavailable_pages", directory=tmp_path, verbosity=0)
    return {path.name: path.read_text() for path in tmp_path.iterdir()}


def test_one_page_per_language_in_that_language_with_the_support_line(tmp_path, settings):
    written = pages(tmp_path, settings, SUPPORT_PHONE="+31 20 555 0100", SUPPORT_EMAIL="hulp@example.nl")
    assert sorted(written) == ["en.html", "nl.html"]  # nothing half-written left beside them
    dutch, english = written["nl.html"], written["en.html"]
    assert '<html lang="nl">' in dutch and "Het paneel is zo terug" in dutch
    assert "Had je net een formulier verstuurd? Dan is het misschien niet opgeslagen" in dutch
    assert '<html lang="en">' in english and "The panel will be back in a moment" in english
    for page in (dutch, english):
        assert 'href="tel:+31205550100"' in page and 'href="mailto:hulp@example.nl"' in page
    assert not english_left(dutch, english)


def test_the_page_needs_nothing_of_the_panel_to_show(tmp_path, settings):
    """It is shown while the panel is down: its stylesheet and icon are inside it, and it loads nothing."""
    page = pages(tmp_path, settings)["nl.html"]
    references = References()
    references.feed(page)
    assert references.loads == [references.loads[0]] and references.loads[0].startswith("data:image/svg+xml;")
    assert ".content.narrow" in references.style and ".button" in references.style
    assert set(references.links) == {"", "tel:+31201234567", "mailto:support@postbode.localhost"}
    assert not re.search(r"<script|/static/|https?://", page)


def test_writing_them_again_replaces_them(tmp_path, settings):
    pages(tmp_path, settings)
    settings.SUPPORT_EMAIL = "nieuw@example.nl"
    written = pages(tmp_path, settings)
    assert sorted(written) == ["en.html", "nl.html"]
    assert "nieuw@example.nl" in written["nl.html"] and (tmp_path / "nl.html").stat().st_mode & 0o777 == 0o644


def test_the_default_folder_is_the_one_nginx_reads(tmp_path, settings):
    settings.STATIC_ROOT = str(tmp_path / "staticfiles")
    call_command("unavailable_pages", verbosity=0)
    assert (tmp_path / "staticfiles" / "unavailable" / "nl.html").exists()
    conf = (settings.BASE_DIR / "deploy" / "nginx" / "postbode-panel.conf").read_text()
    assert "alias /opt/postbode/staticfiles/unavailable/;" in conf  # STATIC_ROOT under the web unit's folder
