"""The security tests reuse the mailbox fixtures of the mailbox tests. Their test on the real mail stack lives
with the integration tests (tests/integration/test_hostile_input_stack.py): a session fixture imported into a
second conftest is a second instance of it, and two mail stacks on the same ports in one worker break both."""

from tests.mailaccounts.conftest import mailbox, make_mailbox, other_mailbox  # noqa: F401
