"""Billing fixtures: a customer's subscription history written day by day, in the panel's time zone."""

from datetime import date, datetime, time

import pytest
from django.utils import timezone

from tenants.models import Plan, Subscription


def at(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def set_history(customer, changes: list[tuple[str, date]], *, ended_on: date | None = None) -> None:
    """Replace the customer's subscriptions: each (plan code, start day) runs until the next one starts."""
    Subscription.objects.filter(customer=customer).delete()
    for index, (code, start) in enumerate(changes):
        following = changes[index + 1][1] if index + 1 < len(changes) else ended_on
        Subscription.objects.create(
            customer=customer,
            plan=Plan.objects.get(code=code),
            started_at=at(start),
            ended_at=at(following) if following else None,
        )
    customer.plan = Plan.objects.get(code=changes[-1][0])
    customer.save(update_fields=["plan"])


@pytest.fixture
def history():
    return set_history


@pytest.fixture
def billing_member(customer):
    from tenants.models import Membership
    from tests.conftest import make_user

    user = make_user("books@example.com")
    Membership.objects.create(user=user, customer=customer, role=Membership.Role.BILLING)
    return user


@pytest.fixture
def billing_client(billing_member):
    from django.test import Client

    client = Client()
    client.force_login(billing_member)
    return client


@pytest.fixture
def travel(monkeypatch):
    """travel(day): from now on the panel's 'today' is that day (issued invoices cannot be back-dated)."""
    real_localdate = timezone.localdate

    def to(day: date) -> None:
        monkeypatch.setattr(
            timezone,
            "localdate",
            lambda value=None, timezone=None: day if value is None else real_localdate(value, timezone),
        )

    return to


@pytest.fixture
def mollie(settings):
    """A local server that answers like Mollie's API, with the production client pointed at it. Its webhooks
    reach the panel's webhook view through Django's test client (`mollie.webhook_responses`)."""
    from urllib.parse import urlsplit

    from django.test import Client

    from tests.fake_mollie import FakeMollie

    fake = FakeMollie().start()
    settings.MOLLIE_API_KEY = "test_postbodeTestKey0000000000000000"
    settings.MOLLIE_API_ENDPOINT = fake.url
    settings.PAYMENT_WEBHOOK_BASE_URL = "http://testserver"
    settings.PAYMENT_REDIRECT_BASE_URL = "http://testserver"
    webhook_client = Client()
    fake.webhook_responses = []

    def deliver(url: str, payment_id: str) -> None:
        response = webhook_client.post(urlsplit(url).path, {"id": payment_id})
        fake.webhook_responses.append(response)

    fake.deliver_webhooks_to(deliver)
    yield fake
    fake.stop()


@pytest.fixture
def mailbox(customer, domain):
    from mailaccounts.services.mailboxes import MB, create_mailbox
    from tenants.audit import Actor

    mailbox, _generated = create_mailbox(
        actor=Actor.system(),
        customer=customer,
        domain=domain,
        local_part="jan",
        quota_bytes=100 * MB,
        password="Brood-En-Banket-42",
    )
    return mailbox
