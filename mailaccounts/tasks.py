"""Celery tasks of the mail backend. Thin: fetch by id, call the service, return."""

from celery import shared_task

from .models import MailHost


def enqueue_apply_mailhost(host_id: int) -> None:
    """Send the apply task to the host's own queue (called after commit)."""
    queue = MailHost.objects.values_list("queue", flat=True).get(pk=host_id)
    apply_mailhost.apply_async(args=[host_id], queue=queue)


@shared_task(bind=True, max_retries=None)
def apply_mailhost(self, host_id: int) -> None:
    from .provisioning import apply_host

    apply_host(host_id)


@shared_task
def measure_usage() -> int:
    """Measure every mailbox's usage and send quota warnings (see services.mailboxes.record_usage)."""
    from .services.mailboxes import measure_usage as measure

    return measure()


@shared_task
def purge_deleted_mailboxes() -> int:
    """Remove mailboxes whose restore period has ended, with their mail folders."""
    from .services.mailboxes import purge_deleted_mailboxes as purge

    return purge()
