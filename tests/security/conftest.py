"""The security tests reuse the mailbox fixtures of the mailbox tests, and the integration tests' mail stack."""

from tests.integration.conftest import (  # noqa: F401
    celery_worker,
    fresh,
    mail,
    mailstack,
    stack_domain,
    stack_host,
)
from tests.mailaccounts.conftest import mailbox, make_mailbox, other_mailbox  # noqa: F401
