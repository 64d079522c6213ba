"""Staff screens for mail accounts, one module per area."""

from . import dkim, domains, mailboxes  # noqa: F401
