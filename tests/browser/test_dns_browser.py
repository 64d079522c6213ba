"""In the browser: create a DKIM key, copy and publish the records, check them live, rotate the key."""

import pytest
from django.test import Client

from mailaccounts.models import DkimKey
from tests.mailaccounts.conftest import correct_zone

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _dns_names(settings):
    settings.MTA_STS_POLICY_HOST = "panel.postbode.test"


def sign_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_customer_publishes_checks_and_rotates_in_the_browser(
    transactional_db, page, shot, live_server, owner, domain, dns_server
):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, live_server, owner)

    page.goto("/dns/")
    page.click(f'a[href="/domains/{domain.pk}/dns/"] >> nth=0')
    page.click("#dkim-generate button[type=submit]")
    key = DkimKey.objects.get(domain=domain)
    assert (
        page.locator(f"#key-{key.selector} .badge:not([data-live-state])").get_attribute("class")
        == "badge badge-warn"
    )
    shot("dns-records-to-publish")

    dkim_row = page.locator(f'tr[data-record="dkim:{key.selector}"]')
    dkim_row.locator("button[data-copy^='#value']").click()
    page.wait_for_function("document.querySelector('button.copied') !== null")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == f"v=DKIM1; k=rsa; p={key.public_key}"

    zone = page.request.get(f"/domains/{domain.pk}/dns/zone/").text()
    dns_server.set_zone(zone.replace("$TTL 3600", ""))
    page.click("form[action$='/dns/check/'] button")
    assert page.locator("#records .badge-ok").count() == 4  # required: MX, SPF, DKIM, DMARC
    assert page.locator("#recommended .badge-ok").count() == 12  # recommended, all published too
    assert page.locator("#dns-health").inner_text() == "Je mail werkt"
    assert (
        page.locator(f"#key-{key.selector} .badge:not([data-live-state])").get_attribute("class")
        == "badge badge-ok"
    )
    shot("dns-records-all-ok")

    page.click(f"#key-{key.selector} a.button")
    page.fill("input[name=selector]", "pb209901")
    shot("dkim-rotate-confirm")
    page.click("form:has(input[name=selector]) button[type=submit]")
    assert (
        page.locator("#key-pb209901 .badge:not([data-live-state])").get_attribute("class")
        == "badge badge-warn"
    )
    assert (
        page.locator(f"#key-{key.selector} .badge:not([data-live-state])").get_attribute("class")
        == "badge badge-ok"
    )

    dns_server.set_zone(correct_zone(domain))
    page.click("form[action$='/dns/check/'] button")
    assert (
        page.locator("#key-pb209901 .badge:not([data-live-state])").get_attribute("class") == "badge badge-ok"
    )
    key.refresh_from_db()
    assert key.state == DkimKey.State.RETIRING
    shot("dkim-rotated")
