"""What every process of the panel pays at its start: loading Django and the URLs leaves out the libraries
of the few pages and tasks that need them (each test worker, the web server's and Celery's processes)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import django
django.setup()
import postbode.urls
print(" ".join(sorted(name for name in sys.argv[1:] if name in sys.modules)))
"""

# name: what loads it when it is needed (together 0.5 s of each process's 1.2 s start-up, 6 December 2026)
LOADED_WHEN_NEEDED = {
    "fpdf": "billing.views.invoice_pdf (a PDF download)",
    "fontTools": "fpdf",
    "mollie.api.client": "billing.mollie.client (a payment)",
    "requests": "the Mollie client",
}


def loaded_of(probe: str, names) -> list[str]:
    """Those of the modules `names` that a fresh process running `probe` loaded (it prints them)."""
    environment = os.environ | {"DJANGO_SETTINGS_MODULE": "postbode.settings"}
    done = subprocess.run(
        [sys.executable, "-c", probe, *names],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_loading_the_panel_leaves_out_what_only_a_few_requests_need():
    assert loaded_of(PROBE, LOADED_WHEN_NEEDED) == []


RENDERING_PROBE = """
import sys
import django
django.setup()
from webmail.rendering import unavailable_files
assert unavailable_files()
print(" ".join(sorted(name for name in sys.argv[1:] if name in sys.modules)))
"""

# name: what loads it (0.11 s of a Celery worker's first apply when the template tags loaded it, 8 December 2026)
LOADED_BY_VIEWS = {
    "devices.views": "the device set-up's URLs",
    "qrcode": "devices.views (the QR code of a profile link)",
    "cryptography.x509": "devices.profiles (a signed profile)",
}


def test_rendering_a_template_outside_a_request_loads_no_views_and_their_libraries():
    """A Celery worker renders templates (the webmail's unavailable pages on every whole apply, e-mails)
    without loading the URLs: the template tags load only what the cards they show need."""
    assert loaded_of(RENDERING_PROBE, LOADED_BY_VIEWS) == []
