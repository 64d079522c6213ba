import pytest

from mailaccounts.services import mailboxes, storage
from tenants.audit import Actor
from tenants.models import Membership
from tests.conftest import make_user


@pytest.fixture
def make_mailbox(customer, domain):
    def make(local_part="jan", *, on_domain=None, owner_customer=None):
        mailbox, _generated = mailboxes.create_mailbox(
            actor=Actor.system(),
            customer=owner_customer or customer,
            domain=on_domain or domain,
            local_part=local_part,
            quota_bytes=100 * storage.MB,
            password="Brood-En-Banket-42",
        )
        return mailbox

    return make


@pytest.fixture
def mailbox(make_mailbox):
    return make_mailbox("jan")


@pytest.fixture
def other_mailbox(make_mailbox, other_customer, other_domain):
    return make_mailbox("els", on_domain=other_domain, owner_customer=other_customer)


@pytest.fixture
def billing_client(customer):
    from django.test import Client

    user = make_user("boekhouding@bakkerij.example")
    Membership.objects.create(user=user, customer=customer, role=Membership.Role.BILLING)
    client = Client()
    client.force_login(user)
    return client
