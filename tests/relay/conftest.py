import pytest

from tests.conftest import test_redis_url


@pytest.fixture(autouse=True)
def _relay_redis(settings):
    """The panel reads the policy service's counters from the test Redis database, never a shared one."""
    settings.RELAY_POLICY_REDIS_URL = test_redis_url()
