"""Celery tasks of the mail backend. Thin: fetch by id, call the service, return."""

import random

from celery import shared_task
from django.db.models import F, Q

from .models import Mailbox, MailHost

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
    from .provisioning import HostBusy, apply_host

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


@shared_task
def measure_usage() -> int:
    """Measure every mailbox's usage and send quota warnings (see services.mailboxes.record_usage).

    A host with a doveadm command reports its mailboxes itself, on its own queue (Dovecot's count is what
    the quota enforces); the others are measured from the files on disk here.
    """
    from .services.mailboxes import measure_usage as measure

    for host_id, queue in (
        MailHost.objects.filter(enabled=True).exclude(doveadm_command=[]).values_list("pk", "queue")
    ):
        measure_mailhost_usage.apply_async(args=[host_id], queue=queue)
    on_disk = Mailbox.objects.filter(deleted_at__isnull=True, domain__mailhost__doveadm_command=[])
    return measure(mailboxes=on_disk)


@shared_task
def measure_mailhost_usage(host_id: int) -> int:
    """Record the usage Dovecot reports for every mailbox of one host (runs on the host's queue)."""
    from .services.mailhosts import record_host_usage

    return record_host_usage(host=MailHost.objects.get(pk=host_id))


@shared_task
def purge_deleted_mailboxes() -> int:
    """Remove mailboxes whose restore period has ended, with their mail folders."""
    from .services.mailboxes import purge_deleted_mailboxes as purge

    return purge()


@shared_task
def check_dns_due() -> int:
    """Every 5 minutes: check the domains whose slot in the hour it is, and retire keys past their grace."""
    from panel.audit import Actor

    from .dnscheck import domains_due
    from .services.dkim import retire_expired_keys

    retire_expired_keys(actor=Actor.system())
    due = domains_due()
    for domain in due:
        check_domain_dns.delay(domain.pk)
    return len(due)


@shared_task
def check_domain_dns(domain_id: int) -> None:
    from .dnscheck import check_domain
    from .models import Domain

    domain = Domain.objects.select_related("mailhost", "customer").filter(pk=domain_id).first()
    if domain is not None:
        check_domain(domain)
