from tenants.audit import Actor, record


def test_customer_sees_own_entries_with_who_what_when_ip(
    owner_client, owner, customer, other_customer, staff
):
    record(Actor(user=owner, ip_address="192.0.2.7"), "domain.added", customer=customer, obj=customer)
    record(Actor(user=staff, is_staff_action=True), "customer.suspended", customer=customer)
    record(Actor.system(), "secret.other", customer=other_customer)
    page = owner_client.get("/activity/").content.decode()
    assert "domain.added" in page and "owner@example.com" in page and "192.0.2.7" in page
    assert "Postbode support" in page and "staff@postbode.test" not in page
    assert "secret.other" not in page


def test_audit_log_is_paginated(owner_client, owner, customer, django_assert_max_num_queries):
    for number in range(120):
        record(Actor(user=owner), f"action.{number}", customer=customer)
    with django_assert_max_num_queries(8):
        first = owner_client.get("/activity/").content.decode()
    assert "action.119" in first and "action.69" not in first
    assert "Page 1 of 3" in first
    third = owner_client.get("/activity/?page=3").content.decode()
    assert "action.0<" in third


def test_actions_read_as_words_in_the_readers_language(owner_client, owner, customer):
    record(Actor(user=owner), "mailbox.create", customer=customer)
    english = owner_client.get("/activity/").content.decode()
    assert "Mailbox created" in english
    dutch = owner_client.get("/activity/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Mailbox aangemaakt" in dutch


def test_every_audited_action_has_a_label():
    """Each action code a service records (found in the source) has words for the activity page."""
    import re
    from pathlib import Path

    from tenants.models import AUDIT_ACTION_LABELS

    root = Path(__file__).resolve().parents[2]
    codes = set()
    apps = [
        "tenants",
        "mailhosts",
        "mailaccounts",
        "relay",
        "spamfilter",
        "devices",
        "billing",
        "backups",
        "postbode",
    ]
    for app in apps:
        for path in (root / app).rglob("*.py"):
            text = path.read_text()
            for call in re.finditer(r"record\((.{0,300}?)\)", text, re.S):
                codes.update(re.findall(r'"([a-z_]+(?:\.[a-z_]+)+)"', call.group(1)))
    # An action named from its model (spamfilter: f"{policy._meta.model_name}.update").
    codes |= {"domainspampolicy.update", "mailboxspampolicy.update"}
    assert codes, "no audit calls found"
    assert codes <= set(AUDIT_ACTION_LABELS), codes - set(AUDIT_ACTION_LABELS)


def test_each_role_reads_the_activity_it_may_see(owner_client, member_client, owner, customer):
    """The billing role reads no mail activity, members no invoice activity, owners everything."""
    from django.test import Client

    from tenants.models import Membership
    from tests.conftest import make_user

    bookkeeper = make_user("books@example.com")
    Membership.objects.create(user=bookkeeper, customer=customer, role=Membership.Role.BILLING)
    billing_client = Client()
    billing_client.force_login(bookkeeper)
    for action in ("mailbox.create", "relay.credential.create", "invoice.issued", "plan.changed"):
        record(Actor(user=owner), action, customer=customer)
    labels = {"mailbox.create": "Mailbox created", "relay.credential.create": "SMTP relay credential created"}
    labels |= {"invoice.issued": "Invoice issued", "plan.changed": "Plan changed"}

    def seen(client):
        page = client.get("/activity/").content.decode()
        return {action for action, label in labels.items() if label in page}

    assert seen(owner_client) == set(labels)
    assert seen(member_client) == {"mailbox.create", "relay.credential.create", "plan.changed"}
    assert seen(billing_client) == {"invoice.issued", "plan.changed"}
