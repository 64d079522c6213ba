"""Fixtures for the mailbox tests: mailboxes made through the service, as a customer would."""

import pytest

from mailaccounts.services import mailboxes as services
from panel.audit import Actor

MAILBOX_PASSWORD = "Brood-En-Banket-42"


@pytest.fixture
def make_mailbox(customer, domain):
    def make(
        local_part="jan", *, quota_bytes=100 * services.MB, on_domain=None, owner_customer=None, **kwargs
    ):
        mailbox, _generated = services.create_mailbox(
            actor=Actor.system(),
            customer=owner_customer or customer,
            domain=on_domain or domain,
            local_part=local_part,
            quota_bytes=quota_bytes,
            password=kwargs.pop("password", MAILBOX_PASSWORD),
            **kwargs,
        )
        return mailbox

    return make


@pytest.fixture
def mailbox(make_mailbox):
    return make_mailbox("jan", display_name="Jan de Vries")


@pytest.fixture
def other_mailbox(other_customer, other_domain):
    mailbox, _generated = services.create_mailbox(
        actor=Actor.system(),
        customer=other_customer,
        domain=other_domain,
        local_part="piet",
        quota_bytes=100 * services.MB,
        password=MAILBOX_PASSWORD,
    )
    return mailbox
