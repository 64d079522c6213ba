"""`manage.py unavailable_pages`: the pages nginx shows while the panel does not answer, one per language.

While Gunicorn restarts (every deploy) or is down, nginx answers 502 or 504 with its own English page. With these
files and `deploy/nginx/postbode-panel.conf` it answers 503 with ours instead: in the panel's look, in the reader's
language, with the support line, and with the stylesheet and icon written into the page, because nothing of the
panel is there to serve them. `deploy/systemd/postbode-web.service` writes them before Gunicorn starts, so they
follow the code, the translations and the SUPPORT_* settings of each deploy.
"""

import base64
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management.base import BaseCommand, CommandError
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe

from mailhosts.files import write_atomic
from postbode.context_processors import support_contact

FOLDER = "unavailable"  # under STATIC_ROOT, where postbode-panel.conf looks for `<language>.html`


def static_text(path: str) -> str:
    found = finders.find(path)
    if not found:
        raise CommandError(f"static file {path} not found")
    return Path(found).read_text(encoding="utf-8")


def render_page(language: str) -> str:
    stylesheet = static_text("css/postbode.css")
    if "</" in stylesheet:  # it goes inside <style>: nothing in it may end that element
        raise CommandError("css/postbode.css contains '</' and cannot be written into a <style> element")
    icon = base64.b64encode(static_text("img/favicon.svg").encode()).decode()
    with translation.override(language):
        return render_to_string(
            "unavailable.html",
            {
                "site_name": settings.SITE_NAME,
                "support": support_contact(),
                "stylesheet": mark_safe(stylesheet),  # noqa: S308 - our own file, checked above
                "icon": f"data:image/svg+xml;base64,{icon}",
            },
        )


class Command(BaseCommand):
    help = "Write the pages nginx shows while the panel does not answer (STATIC_ROOT/unavailable/<language>.html)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--directory", type=Path, help=f"where to write them (default: STATIC_ROOT/{FOLDER})"
        )

    def handle(self, *args, directory=None, verbosity=1, **options):
        folder = directory or Path(settings.STATIC_ROOT) / FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        for language, _name in settings.LANGUAGES:
            path = folder / f"{language}.html"
            write_atomic(path, render_page(language).encode(), 0o644)  # nginx may be serving the old one
            if verbosity >= 1:
                self.stdout.write(f"wrote {path}")
