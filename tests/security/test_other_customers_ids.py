"""Issue 15, "test the whole class": every customer-facing URL, with another customer's ids, GET and POST."""

import pytest

from .cast import ROUTE_OBJECTS, Victim, customer_routes, fingerprint, routes_with_ids


def test_every_route_with_ids_is_mapped():
    """A new page that takes ids must be added to ROUTE_OBJECTS, so this file tests it too."""
    unmapped = [route.route for route in routes_with_ids() if route.name not in ROUTE_OBJECTS]
    assert not unmapped, f"map these routes to the victim's objects in tests/security/cast.py: {unmapped}"
    wrong = [
        route.route for route in routes_with_ids() if set(route.arguments) != set(ROUTE_OBJECTS[route.name])
    ]
    assert not wrong
    # the newer apps are walked too
    names = {route.name.split(":")[0] for route in customer_routes()}
    assert {"spamfilter", "backups", "devices", "billing", "relay", "mailaccounts"} <= names


@pytest.fixture
def victim(customer, domain, member):
    return Victim(customer, domain, member)


def test_another_customers_ids_are_404_on_every_url_and_change_nothing(victim, outsider_client, other_domain):
    outsider_client.get("/")  # the sign-in's own bookkeeping happens before the snapshot
    before = fingerprint()
    refused = {}
    for route in routes_with_ids():
        url = victim.url(route)
        for method in ("get", "post"):
            status = getattr(outsider_client, method)(url).status_code
            if status not in (404, 405):
                refused[f"{method.upper()} {url}"] = status
    assert not refused, refused
    assert fingerprint() == before


def test_the_owner_reaches_every_url_of_the_cast(victim, owner_client):
    """The other side of the 404s: the same URLs are real pages for their owner (so the 404s mean scoping)."""
    missing = {}
    for route in routes_with_ids():
        url = victim.url(route)
        if route.name in {"invitation_accept", "devices:profile_download"}:
            continue  # their tokens are secrets the cast cannot know; a wrong one is a 404 for anyone
        status = owner_client.get(url).status_code
        if status == 404:
            missing[url] = status
    assert not missing, missing
