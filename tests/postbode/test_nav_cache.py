"""Each process renders the menu once per language, page, URL configuration and what the role may see
(`postbode.templatetags.postbode.panel_nav`): the remembered menu is the rendered one, and never another
role's."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from postbode.templatetags.postbode import _nav_html
from tenants.models import Membership
from tests.conftest import make_user


def menu(client: Client, url: str) -> str:
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    start = html.index('<nav class="sidenav"')
    nav = html[start : html.index("</nav>", start)]
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", nav)  # masked anew on every page


@pytest.mark.parametrize("name", ["dashboard", "mailaccounts:mailbox_list", "relay:message_list", "team"])
def test_the_remembered_menu_is_the_rendered_one(owner_client, settings, name):
    _nav_html.clear()
    settings.DEBUG = True  # renders every time
    rendered = menu(owner_client, reverse(name))
    settings.DEBUG = False
    assert menu(owner_client, reverse(name)) == rendered  # rendered and remembered
    assert menu(owner_client, reverse(name)) == rendered  # remembered
    assert rendered.count('aria-current="page"') == 1


def test_each_role_gets_its_own_menu(owner_client, customer, settings):
    settings.DEBUG = False
    _nav_html.clear()
    billing = make_user("boekhouding@example.com")
    Membership.objects.create(user=billing, customer=customer, role=Membership.Role.BILLING)
    billing_client = Client()
    billing_client.force_login(billing)
    mailboxes = f'href="{reverse("mailaccounts:mailbox_list")}"'
    assert mailboxes in menu(owner_client, reverse("dashboard"))
    assert mailboxes not in menu(billing_client, reverse("dashboard"))
    assert mailboxes in menu(owner_client, reverse("dashboard"))
