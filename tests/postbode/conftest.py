import pytest
from django.core.management import call_command
from django.test import Client

from postbode.management.commands.demo import OWNER_EMAIL
from tenants.models import User
from tests.tenants.conftest import make_mailbox  # noqa: F401 - the same cast of mailboxes


@pytest.fixture
def demo_client(db, settings):
    """The demo customer's owner, signed in, reading Dutch."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    call_command("demo", verbosity=0)
    client = Client(headers={"accept-language": "nl"})
    client.force_login(User.objects.get(email=OWNER_EMAIL))
    return client
