"""Celery tasks of mail accounts: usage, purging deleted mailboxes, DNS checks. Thin: fetch by id, call the
service, return."""

from celery import shared_task

from mailhosts.models import MailHost
from tenants.audit import Actor

from .models import Domain, Mailbox
from .services import domains
from .services.dkim import retire_expired_keys
from .services.dnschecks import check_domain, domains_due
from .services.mailboxes import purge_deleted_mailboxes as purge
from .services.mailhosts import record_host_usage
from .services.storage import measure_usage as measure


@shared_task
def measure_usage() -> int:
    """Measure every mailbox's usage and send quota warnings (see services.mailboxes.record_usage).

    A host with a doveadm command reports its mailboxes itself, on its own queue (Dovecot's count is what
    the quota enforces); the others are measured from the files on disk here.
    """
    for host_id, queue in (
        MailHost.objects.filter(enabled=True).exclude(doveadm_command=[]).values_list("pk", "queue")
    ):
        measure_mailhost_usage.apply_async(args=[host_id], queue=queue)
    on_disk = Mailbox.objects.filter(deleted_at__isnull=True, domain__mailhost__doveadm_command=[])
    return measure(mailboxes=on_disk)


@shared_task
def measure_mailhost_usage(host_id: int) -> int:
    """Record the usage Dovecot reports for every mailbox of one host (runs on the host's queue)."""
    return record_host_usage(host=MailHost.objects.get(pk=host_id))


@shared_task
def purge_deleted_mailboxes() -> int:
    """Remove mailboxes whose restore period has ended, with their mail folders."""
    return purge()


@shared_task
def check_dns_due() -> int:
    """Every 5 minutes: check the domains whose slot in the hour it is, and retire keys past their grace."""
    retire_expired_keys(actor=Actor.system())
    due = domains_due()
    for domain in due:
        check_domain_dns.delay(domain.pk)
    return len(due)


@shared_task
def check_domain_dns(domain_id: int) -> None:
    domain = Domain.objects.select_related("mailhost", "customer").filter(pk=domain_id).first()
    if domain is not None:
        check_domain(domain)


@shared_task
def expire_unverified_domains() -> int:
    """Remove domains not verified within UNVERIFIED_DOMAIN_DAYS (their owners are told by e-mail)."""
    return domains.expire_unverified_domains()
