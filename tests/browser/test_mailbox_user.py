"""The mailbox user's corner in a browser, on a phone and a desktop: signed in through the login form with the
demo's mailbox address and password, every page of theirs fits the screen, and their menu offers only their
own mailbox's pages."""

import re

import pytest
from django.core.management import call_command

from mailaccounts.models import Mailbox
from postbode.management.commands.demo import MAILBOX_PASSWORD, MAILBOX_USER_EMAIL

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP, PHONE = (1366, 900), (390, 844)


@pytest.fixture
def mailbox_page(page, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    call_command("demo", verbosity=0)
    page.goto("/accounts/login/")
    page.fill("input[name=login]", MAILBOX_USER_EMAIL)
    page.fill("input[name=password]", MAILBOX_PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(re.compile(r".*/mailboxes/\d+/$"))
    return page


def own_pages(mailbox: Mailbox) -> list[str]:
    return [
        f"/mailboxes/{mailbox.pk}/",
        f"/mailboxes/{mailbox.pk}/password/",
        f"/mailboxes/{mailbox.pk}/autoresponder/",
        f"/spam/mailboxes/{mailbox.pk}/",
        f"/mailboxes/{mailbox.pk}/devices/",
        f"/mailboxes/{mailbox.pk}/devices/?client=iphone",
        f"/mailboxes/{mailbox.pk}/backups/deleted/",
        f"/mailboxes/{mailbox.pk}/backups/restore/",
        "/security/",
    ]


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_mailbox_users_pages_fit_the_screen(mailbox_page, shot, size):
    page = mailbox_page
    page.set_viewport_size({"width": size[0], "height": size[1]})
    mailbox = Mailbox.objects.get(local_part="verkoop")
    too_wide = {}
    for path in own_pages(mailbox):
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > page.evaluate("window.innerWidth"):
            too_wide[path] = width
        name = re.sub(r"\d+", "n", path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-"))
        shot(f"mailbox-user-{size[0]}-{name}")
    assert not too_wide, too_wide


def test_phone_menu_shows_only_their_mailbox_and_sets_an_automatic_reply(mailbox_page, shot):
    page = mailbox_page
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.click("button.menu-toggle")
    nav = page.locator("#sidenav")
    links = [t.strip() for t in nav.locator("a").all_text_contents()]
    assert links[:1] == ["Mijn mailbox"]
    assert "Automatisch antwoord" in links and "Onlangs verwijderd" in links and "Beveiliging" in links
    assert not {"Mailboxen", "Domeinen", "Facturen", "Team", "Activiteit"} & set(links)
    shot("mailbox-user-390-menu-open")
    nav.get_by_role("link", name="Automatisch antwoord").click()
    page.wait_for_url("**/autoresponder/")
    page.check("input[name=is_enabled]")
    page.fill("input[name=subject]", "Op vakantie")
    page.fill("textarea[name=body]", "Ik ben er maandag weer.")
    page.get_by_role("button", name=re.compile("Opslaan|Bewaren")).click()
    page.wait_for_url(re.compile(r".*/mailboxes/\d+/$"))
    assert "Op vakantie" in page.locator("#autoresponder-state").inner_text()
