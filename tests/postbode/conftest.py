from tests.tenants.conftest import make_mailbox  # noqa: F401 - the same cast of mailboxes
