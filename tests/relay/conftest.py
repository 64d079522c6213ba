import pytest

from relay.models import RelayCredential


@pytest.fixture
def credential(customer, domain):
    credential = RelayCredential.objects.create(
        customer=customer, name="webshop", username="relay-7k2m9q", secret_hash="{SHA512-CRYPT}$6$x$y"
    )
    credential.domains.add(domain)
    return credential
