import pytest

from mailaccounts.services import mailboxes as mailbox_services
from tenants.audit import Actor

MAILBOX_PASSWORD = "Brood-En-Banket-42"


@pytest.fixture
def mailbox(customer, domain):
    mailbox, _generated = mailbox_services.create_mailbox(
        actor=Actor.system(),
        customer=customer,
        domain=domain,
        local_part="jan",
        quota_bytes=100 * mailbox_services.MB,
        display_name="Jan de Vries",
        password=MAILBOX_PASSWORD,
    )
    return mailbox


@pytest.fixture
def other_mailbox(other_customer, other_domain):
    mailbox, _generated = mailbox_services.create_mailbox(
        actor=Actor.system(),
        customer=other_customer,
        domain=other_domain,
        local_part="piet",
        quota_bytes=100 * mailbox_services.MB,
        password=MAILBOX_PASSWORD,
    )
    return mailbox
