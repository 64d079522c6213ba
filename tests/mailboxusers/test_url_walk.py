"""Every URL the panel has, walked from the URL resolver (so a page added later is covered too): a mailbox's
own user gets 404 for every URL of another mailbox and for every customer-wide page (billing, team,
domains, aliases, relay...). Only the pages marked open to them (`tenants.access.is_open_to_mailbox_user`)
answer, and only for their own mailbox."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from mailaccounts.services import aliases
from tenants.access import is_open_to_mailbox_user
from tenants.audit import Actor

# Not panel pages: the same answer for anyone, signed in or not (sign-in and account pages of allauth, the
# language switch, mail clients' automatic configuration, the one-time profile link, the payment provider's
# webhook, the MTA-STS policy, an invitation's public page, health, favicon, robots.txt, security.txt, static
# files).
PUBLIC = {
    "favicon.ico",
    "robots.txt",
    ".well-known/security.txt",
    "healthz",
    "i18n/setlang/",
    ".well-known/mta-sts.txt",
    "mail/config-v1.1.xml",
    ".well-known/autoconfig/mail/config-v1.1.xml",
    "autodiscover/autodiscover.xml",
    "Autodiscover/Autodiscover.xml",
    "devices/profile/<int:mailbox_id>/<str:token>/",
    "billing/payments/webhook/",
    "invitation/<str:token>/",
}
PUBLIC_PREFIXES = ("accounts/", "^accounts/", "^static/", "admin/")
# Pages that send a mailbox user home (their mailbox page) instead of answering.
GO_HOME = {"", "onboarding/"}


def walk(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def panel_routes():
    for route, view in walk(get_resolver().url_patterns):
        if route in PUBLIC or route.startswith(PUBLIC_PREFIXES):
            continue
        yield route, view


def fill(route: str, ids: dict[str, int]) -> str:
    """The route with its arguments filled: `pk` from ids by what the route is about, other ints likewise."""

    def value(match):
        kind, name = match.group(1), match.group(2)
        if kind == "str":
            return "x"
        return str(ids.get(name) or ids["pk"])

    return "/" + re.sub(r"<(int|str):(\w+)>", value, route)


def answer(client, path: str) -> int:
    """The status of the request the page takes: GET, or POST when it only takes POST."""
    status = client.get(path).status_code
    if status == 405:
        status = client.post(path, {}).status_code
    return status


def test_the_walk_sees_the_mailbox_pages_and_the_customer_pages():
    routes = dict(panel_routes())
    assert "mailboxes/<int:pk>/password/" in routes and "team/" in routes and "billing/invoices/" in routes
    open_routes = [route for route, view in routes.items() if is_open_to_mailbox_user(view)]
    assert len(open_routes) >= 12, open_routes  # mailbox, spam filter, devices, backups, security


@pytest.mark.parametrize("which", ["colleague", "other customer"])
def test_every_url_of_another_mailbox_is_404(mailbox_client, mailbox, colleague, other_mailbox, which):
    target = colleague if which == "colleague" else other_mailbox
    failures = []
    for route, view in panel_routes():
        if not is_open_to_mailbox_user(view) or "<int:" not in route:
            continue
        path = fill(route, {"pk": target.pk})
        if (status := answer(mailbox_client, path)) != 404:
            failures.append((path, status))
    assert not failures


def test_every_customer_page_is_404_even_with_their_own_ids(mailbox_client, mailbox, domain, customer):
    alias = aliases.create_alias(
        actor=Actor.system(),
        customer=customer,
        domain=domain,
        local_part="info",
        destinations=[mailbox.address],
    )
    failures, walked = [], 0
    for route, view in panel_routes():
        if is_open_to_mailbox_user(view) or route in GO_HOME:
            continue
        about = "domain" if "domains/" in route else "alias" if "aliases/" in route else "mailbox"
        pk = {"domain": domain.pk, "alias": alias.pk, "mailbox": mailbox.pk}[about]
        path = fill(route, {"pk": pk})
        walked += 1
        if (status := answer(mailbox_client, path)) != 404:
            failures.append((path, status))
    assert not failures
    assert walked >= 50  # billing, team, domains, aliases, mailbox list, relay, DNS, plan, activity...


def test_the_home_pages_send_them_to_their_mailbox(mailbox_client, mailbox):
    for path in ["/", "/onboarding/"]:
        response = mailbox_client.get(path, follow=True)
        assert response.redirect_chain[-1][0] == f"/mailboxes/{mailbox.pk}/", path


def test_their_own_mailbox_pages_open(mailbox_client, mailbox):
    """Every page open to them shows for their own mailbox (forms that only take POST are used in
    test_corner.py; pages of one restore or list entry need that object)."""
    failures, shown = [], 0
    for route, view in panel_routes():
        if not is_open_to_mailbox_user(view) or re.search(r"<int:(?!pk>)", route):
            continue
        path = fill(route, {"pk": mailbox.pk})
        status = mailbox_client.get(path).status_code
        if status == 405:
            continue
        shown += 1
        if status != 200:
            failures.append((path, status))
    assert not failures
    assert shown >= 7
