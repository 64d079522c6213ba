"""Fixtures for the mailbox tests (mailboxes made through the service, as a customer would) and for the DKIM
and DNS tests (keys, and zones that publish a domain's records right or wrong)."""

import pytest

from mailaccounts.services import mailboxes, storage
from tenants.audit import Actor

MAILBOX_PASSWORD = "Brood-En-Banket-42"


@pytest.fixture
def make_mailbox(customer, domain):
    def make(
        local_part="jan", *, quota_bytes=100 * storage.MB, on_domain=None, owner_customer=None, **kwargs
    ):
        mailbox, _generated = mailboxes.create_mailbox(
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
    mailbox, _generated = mailboxes.create_mailbox(
        actor=Actor.system(),
        customer=other_customer,
        domain=other_domain,
        local_part="piet",
        quota_bytes=100 * storage.MB,
        password=MAILBOX_PASSWORD,
    )
    return mailbox


@pytest.fixture(autouse=True)
def _dns_names(settings):
    settings.MTA_STS_POLICY_HOST = "panel.postbode.test"


@pytest.fixture
def rsa_key(domain):
    from mailaccounts.services.dkim import generate_dkim_key

    return generate_dkim_key(domain=domain, actor=Actor.system(), selector="pb202611")


@pytest.fixture
def signing_key(rsa_key):
    """An RSA key that is signing (its record was seen live)."""
    from mailaccounts.services.dkim import activate_published_keys

    activate_published_keys(domain=rsa_key.domain, live_selectors={rsa_key.selector}, actor=Actor.system())
    rsa_key.refresh_from_db()
    return rsa_key


def correct_zone(domain, *, skip: tuple[str, ...] = (), extra: str = "") -> str:
    """A zone publishing exactly the records the panel computes, without the record keys in `skip`."""
    from mailaccounts.dnsrecords import records_for

    lines = [r.zone_line for r in records_for(domain) if r.key not in skip]
    return "\n".join(lines) + "\n" + extra


@pytest.fixture
def publish(dns_server, domain):
    """publish(skip=..., extra=...) serves the domain's correct records (minus `skip`, plus `extra` lines)."""

    def _publish(*, skip: tuple[str, ...] = (), extra: str = "", target=None):
        dns_server.set_zone(correct_zone(target or domain, skip=skip, extra=extra))

    return _publish
