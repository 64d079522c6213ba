"""In the browser: create a mailbox (and see its password once), an alias, and an automatic reply."""

import pytest
from django.conf import settings as django_settings
from django.test import Client

from mailaccounts.models import Alias, Autoresponder, Mailbox

# serialized_rollback: the live server's tests empty the database afterwards; this puts the seeded plans back.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def state_badge(obj) -> str:
    """The badge class the page must show for the object's state on the mail servers."""
    return {"live": "badge-ok", "pending": "badge-warn", "failed": "badge-danger"}[obj.live_state]


@pytest.fixture
def signed_in_page(page, live_server, owner, customer, domain):
    """The owner's session cookie, made by Django's test client, handed to the browser."""
    client = Client()
    client.force_login(owner)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    return page


def test_create_mailbox_alias_and_autoresponder(signed_in_page, shot):
    page = signed_in_page
    page.goto("/mailboxes/")
    shot("mailboxes-empty")
    page.click("a[href='/mailboxes/add/']")
    page.fill("input[name=local_part]", "Jan")
    page.fill("input[name=display_name]", "Jan de Vries")
    assert page.input_value("input[name=quota_mb]") == "1000"  # 1 GB, in decimal MB
    page.fill("input[name=quota_mb]", "2048")
    page.check("input[name=password_mode][value=generate]")
    shot("mailbox-add")
    page.click("main form.card button[type=submit]")
    page.wait_for_selector("[data-testid=new-password]")
    password = page.inner_text("[data-testid=new-password]").strip()
    assert len(password) == 23
    assert page.locator(f"h1 .{state_badge(Mailbox.objects.get())}").count() == 1  # live, pending or failed
    shot("mailbox-created-password-once")
    mailbox = Mailbox.objects.get()
    assert mailbox.address == "jan@bakkerij.example" and mailbox.quota_bytes == 2048 * 10**6

    page.reload()
    assert page.locator("[data-testid=new-password]").count() == 0
    page.goto("/mailboxes/?q=jan")
    assert page.locator("td a", has_text="jan@bakkerij.example").count() == 1
    assert page.locator(f"td:last-child .{state_badge(mailbox)}").count() == 1  # its live state
    shot("mailbox-list-search")
    page.goto(f"/mailboxes/{mailbox.pk}/")

    page.click(f"a[href='/mailboxes/{mailbox.pk}/autoresponder/']")
    page.check("input[name=is_enabled]")
    page.fill("input[name=subject]", 'Afwezig "tot maandag"')
    page.fill("textarea[name=body]", 'Ik ben er maandag weer.\n"; discard; # 😀')
    page.fill("input[name=starts_at]", "2026-12-20T09:00")
    page.fill("input[name=ends_at]", "2027-01-04T08:00")
    page.fill("input[name=interval_days]", "3")
    shot("autoresponder-form")
    page.click("main form.card button[type=submit]")
    page.wait_for_url(f"**/mailboxes/{mailbox.pk}/")
    shot("mailbox-detail-with-autoresponder")
    autoresponder = Autoresponder.objects.get()
    assert autoresponder.is_enabled and autoresponder.body == 'Ik ben er maandag weer.\n"; discard; # 😀'

    page.goto("/aliases/add/")
    page.fill("input[name=local_part]", "info")
    page.fill("textarea[name=destinations]", "jan@bakkerij.example\nboekhouder@example.org")
    shot("alias-add")
    page.click("main form.card button[type=submit]")
    page.wait_for_url("**/aliases/")
    shot("alias-list")
    assert Alias.objects.get().destinations == ["jan@bakkerij.example", "boekhouder@example.org"]
    assert page.locator("td a", has_text="info@bakkerij.example").count() == 1

    page.goto("/mailboxes/")
    page.click("a[href$='/routing/']")
    page.check("input[name=catch_all_enabled]")
    page.select_option("select[name=catch_all_to]", str(mailbox.pk))
    shot("domain-routing")
    page.click("main form.card button[type=submit]")
    page.wait_for_selector(".message-success")
    mailbox.domain.refresh_from_db()
    assert mailbox.domain.catch_all_to_id == mailbox.pk and mailbox.domain.postmaster_to_id == mailbox.pk


def test_bad_input_shows_errors_in_the_browser(signed_in_page, shot):
    page = signed_in_page
    page.goto("/mailboxes/add/")
    page.fill("input[name=local_part]", "postmaster")
    page.fill("input[name=quota_mb]", "999999")
    page.click("main form.card button[type=submit]")
    assert page.locator(".errorlist").count() >= 2
    shot("mailbox-add-errors")
    assert not Mailbox.objects.exists()
