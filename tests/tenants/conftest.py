import pytest

from tenants.models import GB


@pytest.fixture
def make_mailbox(domain):
    """make_mailbox("info", quota_gb=2, used_gb=1): a mailbox of the customer on its verified domain."""
    from mailaccounts.models import Mailbox

    def make(local_part: str, *, quota_gb: float = 1, used_gb: float = 0, deleted: bool = False):
        from django.utils import timezone

        return Mailbox.objects.create(
            customer=domain.customer,
            domain=domain,
            local_part=local_part,
            password_hash="{SHA512-CRYPT}x",
            quota_bytes=int(quota_gb * GB),
            used_bytes=int(used_gb * GB),
            deleted_at=timezone.now() if deleted else None,
        )

    return make
