"""Webmail's cast: jan@bakkerij.example (and his own panel login), a colleague, another customer's mailbox."""

import pytest

from tests.mailaccounts.conftest import MAILBOX_PASSWORD, mailbox, make_mailbox, other_mailbox  # noqa: F401
from tests.mailboxusers.conftest import colleague, mailbox_client, sign_in  # noqa: F401


@pytest.fixture(autouse=True)
def _webmail(settings):
    settings.WEBMAIL_URL = "https://webmail.postbode.test/"
    settings.WEBMAIL_API_SECRET = "test-secret-of-the-mail-host"


@pytest.fixture
def host_client(client):
    """The mail host's webmail calling the panel with the shared secret."""

    def post(path, data):
        return client.post(path, data, HTTP_AUTHORIZATION="Bearer test-secret-of-the-mail-host")

    return post
