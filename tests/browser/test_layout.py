"""Every customer page (tests/customer_pages.py) of a customer with data (the demo), at a desktop and two phone
sizes (390 and 360 px): nothing wider than the screen, the menu opens and navigates, pending badges turn live
without a reload. Screenshots are artifacts (test-artifacts/browser/)."""

import re

import pytest
from django.core.management import call_command
from django.db.models import F

from mailhosts.models import MailHost
from postbode.management.commands.demo import OWNER_EMAIL, OWNER_PASSWORD
from tenants.models import Customer, Membership
from tests.conftest import PASSWORD, make_user
from tests.customer_pages import (
    CUSTOMER_PAGES,
    NOT_FOUND_PATH,
    Demo,
    anonymous_page_paths,
    customer_page_paths,
    new_user_page_paths,
    page_slug,
)
from webmail.rendering import unavailable_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP, PHONE, SMALL_PHONE = (1366, 900), (390, 844), (360, 740)
SIZES = {"desktop": DESKTOP, "phone": PHONE, "small-phone": SMALL_PHONE}

# What sticks out of a page that is wider than the screen: the element whose right edge is furthest out, or
# whose text runs past its own box (a long address in a heading).
WIDEST = """() => {
  let worst = null, right = 0;
  for (const el of document.body.querySelectorAll("*")) {  // document order: the deepest of equals wins
    const box = el.getBoundingClientRect();
    const edge = Math.max(box.right, box.left + el.scrollWidth);
    if (box.width && edge > window.innerWidth && edge >= right) { right = edge; worst = el; }
  }
  return worst ? `${worst.tagName.toLowerCase()}.${worst.className} "${worst.innerText.slice(0, 60)}"` : "";
}"""


@pytest.fixture
def demo_page(page, settings):
    """The demo customer's owner, signed in through the login form."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    call_command("demo", verbosity=0)
    sign_in(page, OWNER_EMAIL, OWNER_PASSWORD)
    return page


def sign_in(page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(re.compile(r".*/(onboarding/)?$"))


# What the browser refused under the page's Content-Security-Policy (postbode/middleware.py), recorded from the
# first script on: a script written into a page, a handler attribute, a frame.
RECORD_CSP_VIOLATIONS = """window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));"""


def too_wide(page, paths: list[str], size: tuple[int, int], shot) -> dict[str, str]:
    """{path: what sticks out} for every page wider than the screen, or what its Content-Security-Policy
    refused; a screenshot of each page."""
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    found = {}
    for path in paths:
        page.goto(path)
        if violations := page.evaluate("window.cspViolations"):
            found[path] = f"refused by its Content-Security-Policy: {violations}"
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > page.evaluate("window.innerWidth"):
            found[path] = f"{width} px: {page.evaluate(WIDEST)}"
        shot(f"layout-{size[0]}-{page_slug(path)}")
    return found


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_no_page_is_wider_than_the_screen(demo_page, shot, size):
    paths = customer_page_paths(Demo.load())
    assert len(paths) == len(CUSTOMER_PAGES)
    assert not too_wide(demo_page, paths, size, shot)


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_no_sign_in_page_nor_onboarding_is_wider_than_the_screen(page, shot, size):
    assert not too_wide(page, [*anonymous_page_paths(), NOT_FOUND_PATH], size, shot)
    make_user("nieuw@bakkerij.example")
    sign_in(page, "nieuw@bakkerij.example", PASSWORD)
    assert not too_wide(page, new_user_page_paths(), size, shot)


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


def test_the_first_tab_offers_a_way_past_the_menu_to_the_content(demo_page, shot):
    """WCAG 2.4.1: the first Tab shows "Naar de inhoud" on top of the page; Enter puts the next Tab inside the
    page's own content, past the menu's twenty-odd links."""
    page = demo_page
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    page.goto("/mailboxes/")
    skip = page.locator("a.skip-link")
    assert skip.bounding_box()["y"] + skip.bounding_box()["height"] <= 0  # out of sight until used
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert skip.is_visible() and skip.bounding_box()["y"] >= 0 and skip.inner_text() == "Naar de inhoud"
    shot("layout-skip-link-focused")
    page.keyboard.press("Enter")
    page.wait_for_url("**/mailboxes/#main")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#main') !== null")
    assert page.evaluate("document.activeElement.closest('#sidenav') === null")


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


def test_tables_become_cards_with_labels_on_a_phone(demo_page, shot):
    page = demo_page
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.goto("/mailboxes/")
    table = page.locator(".content table").first
    assert not table.locator("thead").is_visible()  # each cell names its column instead
    cell = table.locator("tbody tr").first.locator("td").nth(1)
    assert cell.get_attribute("data-label")
    assert cell.evaluate("td => getComputedStyle(td).display") == "flex"
    assert (
        cell.evaluate("td => getComputedStyle(td, '::before').content")
        == f'"{cell.get_attribute("data-label")}"'
    )
    shot("layout-390-table-as-cards")
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    assert table.locator("thead").is_visible()


@pytest.mark.parametrize("size", [PHONE, SMALL_PHONE], ids=["phone", "small-phone"])
def test_the_refusal_pages_fit_a_phone_in_dutch(page, shot, settings, size):
    """What a user meets when the panel says no (postbode/views.py): a page their role does not include (403,
    in the layout with their menu), the address of a button (405), a form sent with a stale token. Each in
    Dutch, within the screen, with its way back."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    call_command("demo", verbosity=0)
    books = make_user("boekhouding@demo.postbode.localhost")
    customer = Customer.objects.get(memberships__user__email=OWNER_EMAIL)
    Membership.objects.create(user=books, customer=customer, role=Membership.Role.BILLING)
    sign_in(page, books.email, PASSWORD)
    page.set_viewport_size({"width": size[0], "height": size[1]})

    def fits() -> bool:
        return page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth")

    assert page.goto("/mailboxes/").status == 403
    assert page.locator("h1").inner_text() == "Je hebt geen toegang tot deze pagina"
    assert "Je rol bij Demo B.V. is ‘Financieel’" in page.locator("#error-page").inner_text()
    assert fits()
    shot(f"layout-{size[0]}-refused-role")

    assert page.goto("/plan/change/").status == 405
    assert page.locator("h1").inner_text() == "Dit werkt via de knop" and fits()
    shot(f"layout-{size[0]}-refused-method")

    page.goto("/billing/details/")
    kept = [cookie for cookie in page.context.cookies() if cookie["name"] != "csrftoken"]
    page.context.clear_cookies()
    page.context.add_cookies(kept)  # signed in still, but the form's token no longer matches a cookie
    with page.expect_navigation():
        page.evaluate("document.querySelector('#main form[method=post]').submit()")
    assert page.locator("h1").inner_text() == "Dit formulier is verlopen" and fits()
    assert "Sta dan cookies toe" in page.locator("#error-page").inner_text()
    shot(f"layout-{size[0]}-refused-stale-form")
    page.click("text=Open de pagina opnieuw")
    page.wait_for_url("**/billing/details/")


@pytest.mark.parametrize("size", [PHONE, SMALL_PHONE], ids=["phone", "small-phone"])
@pytest.mark.parametrize("service", ["panel", "webmail"])
def test_the_page_shown_while_the_panel_or_webmail_restarts_fits_a_phone(page, shot, tmp_path, size, service):
    """`manage.py unavailable_pages` (nginx shows it while Gunicorn restarts, tests/integration/
    test_panel_proxy.py) and the webmail's, which each apply renders (nginx shows it while PHP-FPM restarts,
    tests/integration/test_webmail_proxy.py): opened as the file it is, with nothing to load, in the panel's
    look."""
    if service == "panel":
        call_command("unavailable_pages", directory=tmp_path, verbosity=0)
    else:
        (tmp_path / "nl.html").write_bytes(unavailable_page("nl"))
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto((tmp_path / "nl.html").as_uri())
    heading = {"panel": "Het paneel is zo terug", "webmail": "Webmail is zo terug"}[service]
    assert page.locator("h1").inner_text() == heading
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth")
    button = page.locator("a.button")
    assert button.inner_text() == "Opnieuw proberen"
    assert button.evaluate("a => getComputedStyle(a).backgroundColor") == "rgb(31, 95, 191)"  # the stylesheet
    shot(f"layout-{size[0]}-unavailable-{service}")


# Each bar's filled part as a share of the bar, in whole percents, beside the class that sets it.
BAR_WIDTHS = """() => [...document.querySelectorAll(".bar > span")].map((span) => [
  span.className, Math.round(100 * span.getBoundingClientRect().width / span.parentNode.getBoundingClientRect().width)])"""


def test_bars_charts_and_a_signatures_own_styles_show_under_the_policy(demo_page, shot):
    """No style attribute is allowed on the panel's pages (tenants/content_policy.py): a bar's width, a chart
    segment's height are classes, and still drawn to size; the page that previews the demo's HTML signature
    allows its style attributes, so its colour shows as the mail will show it."""
    page = demo_page
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    demo = Demo.load()
    widths = []
    for path in ["/", "/mailboxes/", f"/mailboxes/{demo.mailbox.pk}/", "/plan/", "/relay/credentials/"]:
        page.goto(path)
        widths += page.evaluate(BAR_WIDTHS)
        assert page.evaluate("window.cspViolations") == [], path
    assert len(widths) >= 5 and any(share > 0 for _class, share in widths)
    assert all(f"w-{share}" == class_name for class_name, share in widths), widths

    page.goto("/relay/log/")
    heights = page.evaluate(
        """() => [...document.querySelectorAll(".chart-day > span")].map((span) => [span.className.split(" ")[1],
             Math.round(100 * span.getBoundingClientRect().height / span.parentNode.getBoundingClientRect().height)])"""
    )
    assert heights and all(f"h-{share}" == class_name for class_name, share in heights), heights
    assert page.evaluate("window.cspViolations") == []

    page.goto(f"/domains/{demo.domain.pk}/signature/")
    styled = page.locator(".signature-preview span").first
    assert styled.inner_text() == "Demo B.V."
    assert (
        styled.evaluate("el => getComputedStyle(el).color") == "rgb(31, 95, 191)"
    )  # its own style="color: …"
    assert page.evaluate("window.cspViolations") == []
    shot("layout-signature-preview-styles")
