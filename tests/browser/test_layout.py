"""Every main page of a customer with data (the demo), at a desktop and a phone size: nothing wider than the
screen, the menu opens and navigates, pending badges turn live without a reload. Screenshots are artifacts."""

import re

import pytest
from django.core.management import call_command
from django.db.models import F

from mailhosts.models import MailHost
from postbode.management.commands.demo import OWNER_EMAIL, OWNER_PASSWORD
from tenants.models import Customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP, PHONE = (1366, 900), (390, 844)
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
    "/backups/",
]


@pytest.fixture
def demo_page(page, settings):
    """The demo customer's owner, signed in through the login form."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    call_command("demo", verbosity=0)
    page.goto("/accounts/login/")
    page.fill("input[name=login]", OWNER_EMAIL)
    page.fill("input[name=password]", OWNER_PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(re.compile(r".*/$"))
    return page


def every_main_page() -> list[str]:
    customer = Customer.objects.get(memberships__user__email=OWNER_EMAIL)
    domain, mailbox = customer.domains.first(), customer.mailboxes.first()
    credential, invoice = customer.relay_credentials.first(), customer.invoices.first()
    details = [
        f"/domains/{domain.pk}/",
        f"/domains/{domain.pk}/dns/",
        f"/domains/{domain.pk}/delete/",
        f"/mailboxes/{mailbox.pk}/",
        f"/mailboxes/{mailbox.pk}/autoresponder/",
        f"/mailboxes/{mailbox.pk}/backups/deleted/",
        f"/mailboxes/{mailbox.pk}/backups/restore/",
        "/mailboxes/add/",
        "/domains/add/",
    ]
    if credential:
        details.append(f"/relay/credentials/{credential.pk}/")
    if invoice:
        details.append(f"/billing/invoices/{invoice.pk}/")
    return MAIN_PAGES + details


def screenshot_name(path: str) -> str:
    """/domains/12/dns/ → domains-n-dns: stable names whatever the ids."""
    return re.sub(r"\d+", "n", path.strip("/").replace("/", "-")) or "dashboard"


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_page_is_wider_than_the_screen(demo_page, shot, size):
    page = demo_page
    page.set_viewport_size({"width": size[0], "height": size[1]})
    too_wide = {}
    for path in every_main_page():
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > page.evaluate("window.innerWidth"):
            too_wide[path] = width
        shot(f"layout-{size[0]}-{screenshot_name(path)}")
    assert not too_wide, too_wide


def test_phone_menu_opens_and_navigates(demo_page, shot):
    page = demo_page
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.goto("/")
    nav = page.locator("#sidenav")
    assert not nav.is_visible()  # the page starts with its content, not with the menu
    assert page.locator("h1").bounding_box()["y"] < PHONE[1] / 3
    page.click("button.menu-toggle")
    assert nav.is_visible()
    assert page.locator("button.menu-toggle").get_attribute("aria-expanded") == "true"
    titles = [t.strip() for t in nav.locator(".nav-group-title").all_text_contents()]
    assert titles[:3] == ["Mail", "Domeinen", "Account"]
    shot("layout-390-menu-open")
    nav.get_by_role("link", name="Mailboxen").click()
    page.wait_for_url("**/mailboxes/")
    assert not nav.is_visible()
    nav_link = page.locator("#sidenav a[aria-current=page]")
    assert nav_link.inner_text() == "Mailboxen"


def test_desktop_shows_the_menu_without_a_button(demo_page):
    page = demo_page
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    page.goto("/")
    assert page.locator("#sidenav").is_visible()
    assert not page.locator("button.menu-toggle").is_visible()


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_pending_badges_turn_live_without_a_reload(demo_page, shot, size):
    page = demo_page
    page.set_viewport_size({"width": size[0], "height": size[1]})
    host = MailHost.objects.default()
    applied = host.applied_revision
    MailHost.objects.filter(pk=host.pk).update(applied_revision=0)  # every change waits for the mail server
    page.goto("/mailboxes/")
    pending = page.locator('[data-live-state="pending"]')
    assert pending.count() >= 1 and pending.first.inner_text() == "Bezig"
    page.evaluate("window.__notReloaded = true")
    shot(f"layout-{size[0]}-badges-pending")
    MailHost.objects.filter(pk=host.pk).update(applied_revision=F("desired_revision"))
    assert applied  # the demo had applied everything before
    page.wait_for_selector('[data-live-state="pending"]', state="detached", timeout=15_000)
    assert page.locator('[data-live-state="live"]').first.inner_text() == "Actief"
    assert page.evaluate("window.__notReloaded") is True
    shot(f"layout-{size[0]}-badges-live")
