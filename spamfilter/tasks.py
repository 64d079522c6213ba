"""Periodic tasks of the spam filter. Thin: each host's logs and rspamd live on the mail host, so the work
is sent to that host's own queue."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .ingest import ingest_host
from .models import LearnEvent, SpamHost, SpamResult
from .status import check_status


def spam_hosts():
    return SpamHost.objects.filter(mailhost__enabled=True).select_related("mailhost")


@shared_task
def ingest_all_hosts() -> None:
    for spam_host in spam_hosts():
        ingest_spam_log.apply_async(args=[spam_host.pk], queue=spam_host.mailhost.queue)


@shared_task
def ingest_spam_log(spam_host_id: int) -> int:
    spam_host = SpamHost.objects.select_related("mailhost").filter(pk=spam_host_id).first()
    return ingest_host(spam_host) if spam_host else 0


@shared_task
def check_all_hosts() -> None:
    for spam_host in spam_hosts():
        check_rspamd.apply_async(args=[spam_host.pk], queue=spam_host.mailhost.queue)


@shared_task
def check_rspamd(spam_host_id: int) -> bool | None:
    spam_host = SpamHost.objects.filter(pk=spam_host_id).first()
    return check_status(spam_host) if spam_host else None


@shared_task
def purge_results() -> int:
    cutoff = timezone.now() - timedelta(days=settings.RELAY_LOG_RETENTION_DAYS)
    deleted, _kinds = SpamResult.objects.filter(at__lt=cutoff).delete()
    LearnEvent.objects.filter(at__lt=cutoff).delete()
    return deleted
