"""Issue 15, point 5: a stranger who knows an address cannot lock its owner out."""

import pytest
from django.core.cache import cache

from tests.conftest import PASSWORD, make_user
from tests.mailaccounts.conftest import MAILBOX_PASSWORD

ATTACKER, OWNER_NETWORK = "203.0.113.9", "198.51.100.7"


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def sign_in(client, email, password, ip):
    return client.post("/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR=ip)


def throttled(response) -> bool:
    return (
        response.status_code in (200, 429) and "Too many failed login attempts" in response.content.decode()
    )


def test_an_attacker_is_throttled_while_the_owner_signs_in_from_their_own_network(client, owner, customer):
    from django.test import Client

    for _attempt in range(5):
        sign_in(client, owner.email, "wrong-password", ATTACKER)
    assert throttled(sign_in(client, owner.email, PASSWORD, ATTACKER))  # even the right one, from there
    response = sign_in(Client(), owner.email, PASSWORD, OWNER_NETWORK)
    assert response.status_code == 302 and not throttled(response)


def test_a_mailbox_login_is_limited_the_same_way(client, mailbox):
    """Mailbox users sign in on the same form: a stranger guessing a mailbox's password is throttled from
    their network, while the mailbox's user, from theirs, still signs in."""
    from django.test import Client

    for _attempt in range(5):
        sign_in(client, mailbox.address, "wrong-password", ATTACKER)
    assert throttled(sign_in(client, mailbox.address, MAILBOX_PASSWORD, ATTACKER))
    response = sign_in(Client(), mailbox.address, MAILBOX_PASSWORD, OWNER_NETWORK)
    assert response.status_code == 302 and not throttled(response)


def test_one_ip_trying_many_addresses_is_stopped(client, db):
    for number in range(20):
        sign_in(client, f"klant{number}@example.com", "wrong-password", ATTACKER)
    make_user("echte@example.com")
    assert throttled(sign_in(client, "echte@example.com", PASSWORD, ATTACKER))
    response = sign_in(client, "echte@example.com", PASSWORD, OWNER_NETWORK)
    assert response.status_code == 302


def test_the_limit_is_in_the_common_sign_in_path(db):
    """Every login through allauth's form (people and, later, mailboxes) passes the adapter's counter."""
    from allauth.account.adapter import get_adapter
    from django.test import RequestFactory

    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR=ATTACKER)
    key = get_adapter()._get_login_attempts_cache_key(request, email="Jan@Example.com")
    assert key.endswith(f"jan@example.com:{ATTACKER}")
