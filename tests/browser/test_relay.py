"""In the browser: create a relay credential (its secret shown once), then search the relay log."""

import importlib

import pytest
from django.conf import settings as django_settings
from django.test import Client

from relay.ingest import ingest_lines
from relay.models import RelayCredential, RelayMessage
from relay.services import verify_secret
from tests.relay.logs import MIXED

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _plans(transactional_db):
    """The live server's tests flush the database, seeded plans included: put them back."""
    from tenants.models import Plan

    seed = importlib.import_module("tenants.migrations.0002_seed_plans")
    for plan in seed.PLANS:
        Plan.objects.update_or_create(code=plan["code"], defaults=plan)


@pytest.fixture
def signed_in_page(page, live_server, owner, customer, domain):
    client = Client()
    client.force_login(owner)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    return page


def test_create_a_credential_and_search_the_relay_log(signed_in_page, domain, shot):
    page = signed_in_page
    page.goto("/relay/credentials/")
    shot("relay-credentials-empty")
    page.click("a[href='/relay/credentials/add/']")
    page.fill("input[name=name]", "webshop")
    page.check(f"input[name=domains][value='{domain.pk}']")
    page.click("main form button[type=submit]")
    page.wait_for_selector("[data-testid=new-secret]")
    secret = page.inner_text("[data-testid=new-secret]").strip()
    shot("relay-credential-secret-once")
    credential = RelayCredential.objects.get()
    assert verify_secret(secret, credential.secret_hash)

    page.goto(f"/relay/credentials/{credential.pk}/")
    assert page.locator("[data-testid=new-secret]").count() == 0
    assert secret not in page.content()

    ingest_lines(MIXED.replace("relay-7k2m9q", credential.username).splitlines())
    page.goto("/relay/log/")
    assert page.locator("main table tbody tr").count() >= 3
    assert page.locator(".chart .chart-day").count() == 14
    shot("relay-log")
    page.select_option("select[name=status]", "bounced")
    page.click("form.card button[type=submit]")
    page.wait_for_url("**/relay/log/?*status=bounced*")
    assert page.locator("main table").first.locator("tbody tr").count() == 1
    message = RelayMessage.objects.get(queue_id="4F3A21C0ABC")
    page.click(f"a[href='/relay/log/{message.pk}/']")
    page.wait_for_selector(".timeline")
    assert "5.1.1" in page.content()
    assert page.locator(".timeline li").count() == 7
    shot("relay-message-timeline")
