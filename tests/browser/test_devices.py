"""In the browser, in Dutch: the device page for an iPhone (the QR code decodes to the one-time profile link)
and for Android (numbered steps with the server values and working copy buttons)."""

import io

import pytest
from django.conf import settings as django_settings
from django.test import Client

from mailaccounts.services import mailboxes as mailbox_services
from tenants.audit import Actor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def mailbox(customer, domain):
    mailbox, _generated = mailbox_services.create_mailbox(
        actor=Actor.system(),
        customer=customer,
        domain=domain,
        local_part="jan",
        quota_bytes=100 * 1024**2,
        password="Brood-En-Banket-42",
    )
    return mailbox


@pytest.fixture
def signed_in_page(page, live_server, owner, customer):
    client = Client()
    client.force_login(owner)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    return page


def decode_qr(png: bytes) -> list[str]:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_iphone_qr_code_decodes_to_the_one_time_profile_link(
    signed_in_page, mailbox, live_server, shot, settings
):
    settings.SITE_URL = live_server.url  # links that leave the page are built on SITE_URL (issue 15)
    page = signed_in_page
    page.goto(f"/mailboxes/{mailbox.pk}/")
    assert page.locator("#client-settings").inner_text().count("jan@bakkerij.example") >= 1
    page.click("text=Toestel instellen")
    page.click("a[data-client=iphone]")
    assert page.locator("h2", has_text="iPhone of iPad").count() == 1
    page.click("[data-testid=make-qr]")
    qr = page.locator("[data-testid=profile-qr] svg")
    qr.wait_for()
    shot("devices-iphone-qr")
    decoded = decode_qr(qr.screenshot())
    link = page.inner_text("#profile-url").strip()
    assert decoded == [link]
    assert link.startswith(live_server.url + f"/devices/profile/{mailbox.pk}/")
    assert "één keer" in page.inner_text("#steps")

    first = page.request.get(link)
    assert first.status == 200
    assert first.headers["content-type"] == "application/x-apple-aspen-config"
    assert page.request.get(link).status == 404  # one time only


def test_android_steps_show_the_values_with_copy_buttons(signed_in_page, mailbox, shot):
    page = signed_in_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"/mailboxes/{mailbox.pk}/devices/")
    page.click("a[data-client=android_gmail]")
    steps = page.locator("ol.steps > li")
    assert steps.count() == 6
    text = page.inner_text("#steps")
    assert "Inkomende server (IMAP)" in text and "mx1.postbode.localhost" in text and "993" in text
    assert "SSL/TLS" in text and "465" in text and "DAVx⁵" in text
    shot("devices-android")
    button = page.locator("#steps button[data-copy]").first
    button.click()
    page.locator("#steps button.copied").wait_for(timeout=5000)  # marked once the clipboard write resolved
    assert page.locator("#steps button.copied").count() == 1
    assert page.evaluate("navigator.clipboard.readText()") == "jan@bakkerij.example"
