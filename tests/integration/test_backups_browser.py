"""In Chromium on a phone-size screen, on the real stack (Dovecot's lazy_expunge and doveadm, restic, the Celery
worker): the customer brings back a message deleted in a mail program and restores a deleted folder from last
night's backup (in Dutch), and a whole mailbox (in English), follows each restore on its page until it is
done, and a real IMAP client then finds the mail."""

import re

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.conftest import ARTIFACTS
from tests.integration.conftest import create_mailbox, wait_until
from tests.integration.test_backups import append, fingerprint, folders_of, imap_folder_messages

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
PASSWORD = "Brood-En-Banket-42"
PHONE = {"width": 375, "height": 740}


@pytest.fixture
def phone(page, live_server, owner, customer):
    """The customer's owner, signed in, in Chromium at a phone's size (Dutch, the default)."""
    from tests.conftest import ensure_seeded_plans

    ensure_seeded_plans()  # a browser test's flushed database (see tests/browser/conftest.py)
    customer.language = "nl"
    customer.save(update_fields=["language"])
    client = Client()
    client.force_login(owner)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    page.set_viewport_size(PHONE)
    return page


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_on_a_phone_a_deleted_message_and_a_folder_come_back(
    phone, shot, stack_host, stack_domain, mail, fresh, mailstack
):
    from backups import jobs
    from backups.stack import attach

    attach(mailstack, stack_host)
    page = phone
    mailbox = create_mailbox(stack_domain, fresh("bakker"), PASSWORD)
    mail.wait_live(mailbox)
    client = mail.imap(mailbox.address, PASSWORD)
    kept = mail.message(sender="klant@elders.example", to=mailbox.address, subject="Bestelling taart")
    gone = mail.message(sender="molen@elders.example", to=mailbox.address, subject="Meelprijs 2027")
    append(client, "INBOX", kept)
    append(client, "INBOX", gone)
    archive = [
        mail.message(sender="accountant@elders.example", to=mailbox.address, subject=f"Jaarcijfers {n}")
        for n in range(3)
    ]
    for message in archive:
        append(client, "Archief/2025", message)
    assert jobs.backup_host(host=stack_host).status == "succeeded"

    # in the mail program: the second inbox message deleted for good, the whole archive folder removed
    client.select("INBOX")
    client.store("2", "+FLAGS", "\\Deleted")
    client.expunge()
    assert client.delete('"Archief/2025"')[0] == "OK"
    client.logout()

    # 1. recently deleted: listed with its subject, back in the inbox with one tap
    page.goto(f"/mailboxes/{mailbox.pk}/")
    page.get_by_role("link", name="Onlangs verwijderd").click()
    page.wait_for_url(re.compile(r".*/backups/deleted/$"))
    row = page.locator("tbody tr", has_text="Meelprijs 2027")
    row.wait_for()
    assert "molen@elders.example" in row.inner_text() and "INBOX" in row.inner_text()
    assert fits_the_screen(page)
    shot("backups-deleted-phone")
    row.get_by_role("button", name="Terugzetten").click()
    page.get_by_text("Het bericht staat weer in INBOX.").wait_for()
    assert page.locator("tbody tr", has_text="Meelprijs 2027").count() == 0

    # 2. restore from the backup: the day, then the folder, then the restore page until it is done
    page.goto(f"/mailboxes/{mailbox.pk}/")
    page.get_by_role("link", name="Terugzetten uit back-up").click()
    page.get_by_role("button", name="Mappen tonen").click()
    folder = page.get_by_label(re.compile(r"Archief/2025 \(3 berichten"))
    folder.check()
    assert fits_the_screen(page)
    shot("backups-restore-start-phone")
    page.get_by_role("button", name="Terugzetten", exact=True).click()
    page.wait_for_url(re.compile(r".*/backups/restores/\d+/$"))
    status = page.locator("[data-field=status_label]")
    wait_until(lambda: status.inner_text() == "Klaar", timeout=60, interval=0.5, what="the page to say Klaar")
    target = page.locator("[data-field=target_folder]").inner_text()
    day = re.fullmatch(r"Hersteld (\d{4}-\d\d-\d\d)", target)
    assert day, target
    assert page.locator("[data-field=done]").inner_text() == "3"
    full = "el => Math.round(100 * el.getBoundingClientRect().width / el.parentNode.getBoundingClientRect().width)"
    assert page.locator("[data-field=percent]").evaluate(full) == 100  # the bar is full
    assert fits_the_screen(page)
    shot("backups-restore-done-phone")

    # what a real IMAP client sees: the message in its folder, the archive in the new folder
    client = mail.imap(mailbox.address, PASSWORD)
    inbox = sorted(fingerprint(m) for m in imap_folder_messages(client, "INBOX"))
    assert inbox == sorted([fingerprint(kept), fingerprint(gone)])
    assert "Archief/2025" not in folders_of(client)
    restored = sorted(fingerprint(m) for m in imap_folder_messages(client, f"{target}/Archief/2025"))
    assert restored == sorted(fingerprint(m) for m in archive)
    client.logout()


def test_in_english_on_a_phone_a_whole_mailbox_comes_back(
    browser, live_server, owner, customer, stack_host, stack_domain, mail, fresh, mailstack
):
    from backups import jobs
    from backups.stack import attach
    from tests.conftest import ensure_seeded_plans

    ensure_seeded_plans()
    attach(mailstack, stack_host)
    customer.language = "en"
    customer.save(update_fields=["language"])
    mailbox = create_mailbox(stack_domain, fresh("oven"), PASSWORD)
    mail.wait_live(mailbox)
    client = mail.imap(mailbox.address, PASSWORD)
    inbox = [
        mail.message(sender="k@elders.example", to=mailbox.address, subject=f"Order {n}") for n in range(2)
    ]
    recipes = [mail.message(sender="oma@elders.example", to=mailbox.address, subject="Appeltaart")]
    for message in inbox:
        append(client, "INBOX", message)
    for message in recipes:
        append(client, "Recepten", message)
    assert jobs.backup_host(host=stack_host).status == "succeeded"
    client.select("INBOX")
    client.store("1:*", "+FLAGS", "\\Deleted")
    client.expunge()
    assert client.delete("Recepten")[0] == "OK"
    client.logout()

    context = browser.new_context(base_url=live_server.url, locale="en-GB", viewport=PHONE)
    try:
        session = Client()
        session.force_login(owner)
        cookie = session.cookies[django_settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"/mailboxes/{mailbox.pk}/")
        page.get_by_role("link", name="Restore from backup").click()
        page.get_by_role("button", name="Show folders").click()
        page.get_by_label(re.compile(r"The whole mailbox \(3 messages")).check()
        page.get_by_role("button", name="Restore", exact=True).click()
        page.wait_for_url(re.compile(r".*/backups/restores/\d+/$"))
        status = page.locator("[data-field=status_label]")
        wait_until(
            lambda: status.inner_text() == "Done", timeout=60, interval=0.5, what="the page to say Done"
        )
        target = page.locator("[data-field=target_folder]").inner_text()
        assert re.fullmatch(r"Restored \d{4}-\d\d-\d\d", target), target
        assert page.locator("[data-field=done]").inner_text() == "3"
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "backups-restore-mailbox-phone-en.png"), full_page=True)
    finally:
        context.close()

    client = mail.imap(mailbox.address, PASSWORD)
    assert sorted(fingerprint(m) for m in imap_folder_messages(client, f"{target}/INBOX")) == sorted(
        fingerprint(m) for m in inbox
    )
    assert sorted(fingerprint(m) for m in imap_folder_messages(client, f"{target}/Recepten")) == sorted(
        fingerprint(m) for m in recipes
    )
    assert imap_folder_messages(client, "INBOX") == []
    client.logout()
