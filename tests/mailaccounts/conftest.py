"""Fixtures for the DKIM and DNS tests: keys, and zones that publish a domain's records right or wrong."""

import pytest

from panel.audit import Actor


@pytest.fixture(autouse=True)
def _dns_names(settings):
    settings.MTA_STS_POLICY_HOST = "panel.postbode.test"
    settings.SITE_URL = "https://panel.postbode.test"


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
