"""Playwright driving Debian's headless Chromium against the live test server.

Screenshots go to test-artifacts/browser/ (git-ignored). Under CI=true a missing Chromium fails the test.
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import require_service

# Playwright's sync API runs an event loop in this thread; the ORM calls in these tests are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


_shared: dict = {"users": 0}


@pytest.fixture(scope="session")
def browser():
    """One Chromium per test process: tests elsewhere that import this fixture (tests/integration/
    test_webmail.py, beside the mail stack's fixtures) get the same one, as Playwright's sync API runs one
    event loop per thread."""
    require_service(Path(CHROMIUM).exists() or bool(shutil.which("chromium")), "Chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    if _shared["users"] == 0:
        _shared["playwright"] = sync_playwright().start()
        _shared["browser"] = _shared["playwright"].chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
    _shared["users"] += 1
    yield _shared["browser"]
    _shared["users"] -= 1
    if _shared["users"] == 0:
        _shared.pop("browser").close()
        _shared.pop("playwright").stop()


@pytest.fixture
def page(browser, live_server, settings):
    settings.ALLOWED_HOSTS = ["*"]
    context = browser.new_context(base_url=live_server.url, locale="nl-NL")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def shot(page):
    """shot("name") saves a full-page screenshot of the current page."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(autouse=True)
def _seeded_plans(transactional_db):
    """Browser tests run on a flushed database (live server, transactional): put the seeded plans back.

    serialized_rollback would do this but is unreliable here: Playwright's event loop makes Django's
    connection context-local, so the serialized copy is not found.
    """
    from tests.conftest import ensure_seeded_plans

    ensure_seeded_plans()
