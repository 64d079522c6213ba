import pytest

from relay.models import RelayCredential


@pytest.fixture
def credential(customer, domain):
    credential = RelayCredential.objects.create(
        customer=customer, name="webshop", username="relay-7k2m9q", secret_hash="{SHA512-CRYPT}$6$x$y"
    )
    credential.domains.add(domain)
    return credential


@pytest.fixture(autouse=True)
def _relay_redis(settings):
    """The panel reads the policy service's counters from the test Redis database, never a shared one."""
    import os

    settings.RELAY_POLICY_REDIS_URL = os.environ.get("POSTBODE_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
