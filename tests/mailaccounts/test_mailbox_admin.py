"""Staff find mailboxes and aliases by address across customers, disable them and reset passwords."""

import re

from django.urls import reverse

from mailaccounts import passwords
from mailaccounts.models import Alias, Mailbox
from mailaccounts.services import aliases
from tenants.audit import Actor
from tenants.models import AuditEntry


def test_mailbox_search_by_address_customer_and_domain(staff_client, mailbox, other_mailbox):
    url = reverse("admin:mailaccounts_mailbox_changelist")
    for term, expected in [
        ("jan@bakkerij.example", ["jan"]),
        ("piet", ["piet"]),
        ("concurrent.example", ["piet"]),
        ("Bakkerij de Vries", ["jan"]),
    ]:
        response = staff_client.get(url, {"q": term})
        assert response.status_code == 200
        assert [m.local_part for m in response.context["cl"].result_list] == expected


def test_alias_search_across_customers(staff_client, customer, domain, mailbox):
    aliases.create_alias(
        actor=Actor.system(),
        customer=customer,
        domain=domain,
        local_part="info",
        destinations=[mailbox.address],
    )
    response = staff_client.get(
        reverse("admin:mailaccounts_alias_changelist"), {"q": "info@bakkerij.example"}
    )
    assert [a.local_part for a in response.context["cl"].result_list] == ["info"]


def test_staff_disable_action_goes_through_the_service(staff_client, staff, mailbox):
    response = staff_client.post(
        reverse("admin:mailaccounts_mailbox_changelist"),
        {"action": "disable_mailboxes", "_selected_action": [mailbox.pk]},
        follow=True,
    )
    assert response.status_code == 200
    mailbox.refresh_from_db()
    assert not mailbox.is_enabled and mailbox.live_state == "pending"
    entry = AuditEntry.objects.get(action="mailbox.disable")
    assert entry.actor == staff and entry.actor_kind == "staff"


def test_staff_reset_password_shows_the_new_one_once(staff_client, mailbox):
    response = staff_client.post(
        reverse("admin:mailaccounts_mailbox_changelist"),
        {"action": "reset_passwords", "_selected_action": [mailbox.pk]},
        follow=True,
    )
    content = response.content.decode()
    shown = re.search(r"New password for jan@bakkerij.example \(shown only now\): ([\w-]+)", content)
    assert shown
    mailbox.refresh_from_db()
    assert passwords.verify_password(shown.group(1), mailbox.password_hash)
    again = staff_client.get(reverse("admin:mailaccounts_mailbox_changelist")).content.decode()
    assert shown.group(1) not in again
    assert AuditEntry.objects.filter(action="mailbox.password", actor_kind="staff").exists()


def test_staff_disable_alias(staff_client, customer, domain, mailbox):
    alias = aliases.create_alias(
        actor=Actor.system(),
        customer=customer,
        domain=domain,
        local_part="info",
        destinations=[mailbox.address],
    )
    staff_client.post(
        reverse("admin:mailaccounts_alias_changelist"),
        {"action": "disable_aliases", "_selected_action": [alias.pk]},
    )
    assert not Alias.objects.get().is_enabled


def test_admin_never_shows_the_hash_and_cannot_edit_directly(staff_client, mailbox):
    page = staff_client.get(reverse("admin:mailaccounts_mailbox_change", args=[mailbox.pk]))
    assert page.status_code == 200
    assert mailbox.password_hash not in page.content.decode()
    staff_client.post(reverse("admin:mailaccounts_mailbox_change", args=[mailbox.pk]), {"quota_bytes": 1})
    assert Mailbox.objects.get().quota_bytes == mailbox.quota_bytes


def test_admin_search_survives_nul_and_junk(staff_client, mailbox):
    for url in (
        "admin:mailaccounts_mailbox_changelist",
        "admin:mailaccounts_alias_changelist",
        "admin:mailaccounts_autoresponder_changelist",
    ):
        for term in ("\x00", "jan\x00@bakkerij.example", "@", "x" * 5000, "jan@bakkerij.example"):
            assert staff_client.get(reverse(url), {"q": term}).status_code == 200
