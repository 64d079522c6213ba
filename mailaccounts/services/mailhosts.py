"""Mail host operations: re-applying a host's configuration (staff, from the admin); its usage report."""

from django.db import transaction

from panel.audit import Actor, record

from ..models import Mailbox, MailHost


@transaction.atomic
def reapply_host(*, host: MailHost, actor: Actor) -> None:
    """Render and apply the host's whole configuration again, and run its reload steps, even if it is current.

    Clears nothing by itself: the host stays failed until an apply succeeds.
    """
    record(actor, "mailhost.reapply", obj=host)
    host_id = host.pk
    transaction.on_commit(lambda: enqueue_apply(host_id))


def enqueue_apply(host_id: int) -> None:
    from ..tasks import enqueue_apply_mailhost

    enqueue_apply_mailhost(host_id, force=True)


def record_host_usage(*, host: MailHost) -> int:
    """Store the usage Dovecot reports (`doveadm quota get`) for each of the host's mailboxes, and send the
    quota warnings that go with it. Returns how many mailboxes were measured."""
    from ..provisioning import measure_host_usage
    from .mailboxes import record_usage

    reported = measure_host_usage(host)
    mailboxes = Mailbox.objects.filter(domain__mailhost=host, deleted_at__isnull=True).select_related(
        "domain", "customer"
    )
    count = 0
    for mailbox in mailboxes.iterator(chunk_size=1000):
        record_usage(mailbox=mailbox, used_bytes=reported.get(mailbox.address, 0))
        count += 1
    return count
