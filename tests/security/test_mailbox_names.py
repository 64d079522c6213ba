"""Issue 15, point 9: names that are not plain addresses are refused for mailboxes and aliases."""

import pytest
from django.urls import reverse

from mailaccounts.models import Alias, Mailbox

NOT_NAMES = ["*", "${evil}", "-a", "=?utf-8?q?info?=", "{x}", "a$b", "_x", "a/b"]


@pytest.mark.parametrize("name", NOT_NAMES)
def test_a_mailbox_name_that_is_not_a_plain_address_is_refused(owner_client, domain, name):
    response = owner_client.post(
        reverse("mailaccounts:mailbox_add"),
        {"local_part": name, "domain": domain.pk, "quota_mb": 100, "password_mode": "generate"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["local_part"]
    assert not Mailbox.objects.exists()


@pytest.mark.parametrize("name", NOT_NAMES)
def test_an_alias_name_that_is_not_a_plain_address_is_refused(owner_client, domain, mailbox, name):
    response = owner_client.post(
        reverse("mailaccounts:alias_add"),
        {"local_part": name, "domain": domain.pk, "destinations": mailbox.address},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["local_part"]
    assert not Alias.objects.exists()


def test_a_star_points_to_the_catch_all_setting(owner_client, domain):
    response = owner_client.post(
        reverse("mailaccounts:mailbox_add"),
        {"local_part": "*", "domain": domain.pk, "quota_mb": 100, "password_mode": "generate"},
    )
    assert "Catch-all" in response.context["form"].errors["local_part"][0]


@pytest.mark.parametrize("name", ["info", "jan.de.vries", "sales+eu", "a-b_c", "2024"])
def test_plain_names_are_still_accepted(owner_client, domain, name):
    owner_client.post(
        reverse("mailaccounts:mailbox_add"),
        {"local_part": name, "domain": domain.pk, "quota_mb": 100, "password_mode": "generate"},
    )
    assert Mailbox.objects.filter(local_part=name).exists()
