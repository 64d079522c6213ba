"""The security tests reuse the mailbox fixtures of the mailbox tests."""

from tests.mailaccounts.conftest import mailbox, make_mailbox, other_mailbox  # noqa: F401
