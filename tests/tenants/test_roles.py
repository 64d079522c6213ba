"""The billing role sees the plan and the invoices, as the invitation says ("Billing — sees invoices"); only
owners and members manage mail: domains, mailboxes, aliases, DNS and DKIM, the SMTP relay and its log."""

import pytest
from django.urls import get_resolver, reverse

from mailaccounts.services.aliases import create_alias
from mailaccounts.services.mailboxes import create_mailbox
from relay.ingest import ingest_lines
from relay.models import RelayCredential, RelayMessage
from tenants.audit import Actor
from tenants.models import Membership
from tests.conftest import make_user
from tests.relay.logs import MIXED

PUBLIC = {"mailaccounts:mta_sts_policy"}  # served to receiving mail servers, not to users


@pytest.fixture
def billing_client(client, customer):
    user = make_user("boekhouder@example.com")
    Membership.objects.create(user=user, customer=customer, role=Membership.Role.BILLING)
    client.force_login(user)
    return client


@pytest.fixture
def mail_objects(customer, domain):
    actor = Actor.system()
    mailbox, _ = create_mailbox(
        actor=actor,
        customer=customer,
        domain=domain,
        local_part="jan",
        quota_bytes=10**8,
        password="Brood-En-42!x",
    )
    alias = create_alias(
        actor=actor, customer=customer, domain=domain, local_part="info", destinations=[mailbox.address]
    )
    credential = RelayCredential.objects.create(
        customer=customer, name="webshop", username="relay-7k2m9q", secret_hash="{SHA512-CRYPT}$6$x$y"
    )
    credential.domains.add(domain)
    ingest_lines(MIXED.splitlines())
    message = RelayMessage.objects.filter(customer=customer).first()
    return {
        "domain": domain,
        "mailbox": mailbox,
        "alias": alias,
        "credential": credential,
        "message": message,
    }


def mail_urls() -> dict[str, str]:
    """Every page of the mail namespaces (the role is checked before any object is looked up)."""
    urls = {}
    for namespace in ("mailaccounts", "relay"):
        resolver = get_resolver().namespace_dict[namespace][1]
        for name in {n for n in resolver.reverse_dict if isinstance(n, str)}:
            full = f"{namespace}:{name}"
            if full not in PUBLIC:
                params = resolver.reverse_dict.getlist(name)[0][0][0][1]
                urls[full] = reverse(full, args=[1] * len(params))
    return urls


def test_a_billing_member_cannot_reach_any_mail_page(billing_client, mail_objects):
    urls = mail_urls()
    assert len(urls) >= 30
    for name, url in urls.items():
        assert billing_client.get(url).status_code in (403, 405), name  # 405: a form's POST-only action
        assert billing_client.post(url, {}).status_code == 403, name
    assert RelayMessage.objects.filter(customer=mail_objects["domain"].customer).exists()  # nothing changed


def test_a_billing_member_sees_plan_and_invoices_without_mail_in_the_menu(billing_client, mail_objects):
    response = billing_client.get(reverse("dashboard"))
    assert response.status_code == 200
    text = response.content.decode()
    for name in (
        "mailaccounts:domain_list",
        "mailaccounts:mailbox_list",
        "relay:message_list",
        "mailaccounts:domain_add",
    ):
        assert f'href="{reverse(name)}"' not in text, name
    assert f'href="{reverse("billing:invoice_list")}"' in text
    assert mail_objects["domain"].name not in text
    assert billing_client.get(reverse("plan")).status_code == 200
    assert billing_client.get(reverse("billing:invoice_list")).status_code == 200


def test_members_still_manage_mail(member_client, mail_objects):
    for name in (
        "mailaccounts:mailbox_list",
        "mailaccounts:domain_list",
        "relay:message_list",
        "relay:credential_list",
    ):
        assert member_client.get(reverse(name)).status_code == 200, name
    response = member_client.get(reverse("dashboard"))
    assert f'href="{reverse("mailaccounts:mailbox_list")}"' in response.content.decode()
