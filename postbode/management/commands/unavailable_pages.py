"""`manage.py unavailable_pages`: the pages nginx shows while the panel does not answer, one per language.

While Gunicorn restarts (every deploy) or is down, nginx answers 502 or 504 with its own English page. With these
files and `deploy/nginx/postbode-panel.conf` it answers 503 with ours instead: in the panel's look, in the reader's
language, with the support line, and with the stylesheet and icon written into the page, because nothing of the
panel is there to serve them. `deploy/systemd/postbode-web.service` writes them before Gunicorn starts, so they
follow the code, the translations and the SUPPORT_* settings of each deploy.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mailhosts.files import write_atomic
from tenants.standalone import StandalonePageError, render_standalone

FOLDER = "unavailable"  # under STATIC_ROOT, where postbode-panel.conf looks for `<language>.html`


def render_page(language: str) -> str:
    try:
        return render_standalone("unavailable.html", language)
    except StandalonePageError as error:
        raise CommandError(str(error)) from error


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
