"""Mailbox usage as a mail host's Dovecot reports it."""

from mailhosts.models import MailHost

from ..models import Mailbox
from ..usage import measure_host_usage
from .storage import record_usage


def record_host_usage(*, host: MailHost) -> int:
    """Store the usage Dovecot reports (`doveadm quota get`) for each of the host's mailboxes, and send the
    quota warnings that go with it. Returns how many mailboxes were measured."""
    reported = measure_host_usage(host)
    mailboxes = Mailbox.objects.filter(domain__mailhost=host, deleted_at__isnull=True).select_related(
        "domain", "customer"
    )
    count = 0
    for mailbox in mailboxes.iterator(chunk_size=1000):
        record_usage(mailbox=mailbox, used_bytes=reported.get(mailbox.address, 0))
        count += 1
    return count
