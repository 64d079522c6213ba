"""Celery tasks of the mail-host machinery. Thin: fetch by id, call the service, return."""

import random

from celery import shared_task
from django.db.models import F, Q

from .apply import HostBusy, apply_host
from .models import MailHost

RETRY_BASE_SECONDS = 2
RETRY_MAX_SECONDS = 300
BUSY_RETRY_SECONDS = 1


def enqueue_apply_mailhost(host_id: int, *, force: bool = False) -> None:
    """Send the apply task to the host's own queue (called after commit)."""
    queue = MailHost.objects.values_list("queue", flat=True).get(pk=host_id)
    apply_mailhost.apply_async(args=[host_id], kwargs={"force": force}, queue=queue)


def backoff_seconds(retries: int) -> float:
    """2, 4, 8, ... seconds up to five minutes, with jitter so failing hosts do not retry in step."""
    delay = min(RETRY_BASE_SECONDS * 2**retries, RETRY_MAX_SECONDS)
    return delay * random.uniform(0.8, 1.2)


@shared_task(bind=True, max_retries=None, acks_late=True)
def apply_mailhost(self, host_id: int, force: bool = False) -> int | None:
    """Apply the host's desired state. Safe to run twice: an up-to-date host is left alone."""
    try:
        return apply_host(host_id, force=force).revision
    except MailHost.DoesNotExist:
        return None
    except HostBusy as busy:
        if self.request.is_eager:
            return None
        # The running apply may have started before our change: come back when it is done.
        raise self.retry(exc=busy, countdown=BUSY_RETRY_SECONDS) from busy
    except Exception as error:
        if self.request.is_eager:  # in-process: the error is on the host; eager retries would recurse
            return None
        raise self.retry(exc=error, countdown=backoff_seconds(self.request.retries)) from error


@shared_task
def reconcile_mailhosts() -> list[str]:
    """Enqueue an apply for every enabled host that is behind or whose last apply failed."""
    behind = MailHost.objects.filter(enabled=True).filter(
        Q(applied_revision__lt=F("desired_revision")) | ~Q(last_error="")
    )
    names = []
    for host in behind:
        enqueue_apply_mailhost(host.pk)
        names.append(host.name)
    return names
