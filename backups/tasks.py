"""Celery tasks of the backups. Thin: fetch by id, call the job, return.

Backups and restores run on the mail host's own queue (the repository client and the mail are there); the
database dump and the health check on the default queue.
"""

import random

from celery import shared_task

from mailhosts.models import MailHost

from . import jobs

RETRY_BASE_SECONDS = 60
MAX_RETRIES = 5


@shared_task
def backup_all_hosts() -> list[str]:
    """Nightly: one backup task per enabled host, on that host's queue."""
    names = []
    for host_id, name, queue in MailHost.objects.filter(enabled=True).values_list("pk", "name", "queue"):
        backup_mailhost.apply_async(args=[host_id], queue=queue)
        names.append(name)
    return names


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def backup_mailhost(self, host_id: int) -> str | None:
    """Back up one host. A failure is recorded (and staff alerted) by the job; the task retries with
    backoff (1, 2, 4 ... minutes), never holding up anything else on the host's queue for long."""
    host = MailHost.objects.filter(pk=host_id).first()
    if host is None:
        return None
    try:
        return jobs.backup_host(host=host).snapshot_id
    except jobs.BackupBusy:
        return None
    except Exception as error:
        if self.request.is_eager:
            return None
        countdown = RETRY_BASE_SECONDS * 2**self.request.retries * random.uniform(0.8, 1.2)
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task(acks_late=True)
def run_restore_task(restore_id: int) -> str | None:
    restore = jobs.run_restore(restore_id=restore_id)
    return restore.status if restore else None


@shared_task
def dump_database() -> str:
    return jobs.dump_database().path


@shared_task
def check_backup_health() -> int:
    return len(jobs.check_backup_health())
