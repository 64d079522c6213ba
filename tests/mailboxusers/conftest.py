"""The mailbox's own user: jan@bakkerij.example signing in with the mailbox password, beside the shared cast."""

import pytest
from django.test import Client

from tests.mailaccounts.conftest import MAILBOX_PASSWORD, mailbox, make_mailbox, other_mailbox  # noqa: F401


def sign_in(client: Client, address: str, password: str = MAILBOX_PASSWORD):
    return client.post("/accounts/login/", {"login": address, "password": password})


@pytest.fixture
def mailbox_client(mailbox):  # noqa: F811
    """A browser signed in as jan@bakkerij.example, through the real login form."""
    client = Client()
    response = sign_in(client, mailbox.address)
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


@pytest.fixture
def colleague(make_mailbox):  # noqa: F811
    """Another mailbox of the same customer."""
    return make_mailbox("kees", display_name="Kees")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth counts failed logins in the cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
