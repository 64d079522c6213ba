"""Periodic tasks of the relay log. Thin: find the work, call the ingest functions, return.

Each mail host's Postfix log file is named by a `RelayLogSource` (staff add it in the admin; the path is the
host's `maillog_file`). `ingest_all_hosts` runs every few seconds and sends one `ingest_source` task per
source to that host's own Celery queue, because the file lives on the mail host. After each run the chart's
daily roll-up catches up with the days it changed (`relay.rollup`).
"""

from celery import shared_task
from django.conf import settings

from . import partitions, rollup
from .ingest import ingest_file, purge_older_than
from .models import RelayLogSource


@shared_task
def ingest_all_hosts() -> None:
    sources = RelayLogSource.objects.filter(is_enabled=True, mailhost__enabled=True).select_related(
        "mailhost"
    )
    for source in sources:
        ingest_source.apply_async(args=[source.pk], queue=source.mailhost.queue)


@shared_task
def ingest_source(source_id: int) -> int:
    source = RelayLogSource.objects.select_related("mailhost").filter(pk=source_id, is_enabled=True).first()
    if source is None:
        return 0
    lines = ingest_file(source.path, host=source.mailhost.name).lines
    rollup.refresh()
    return lines


@shared_task
def purge_relay_log() -> tuple[int, int]:
    """Nightly: the days ahead get their partitions, the days past the retention are dropped."""
    partitions.ensure_ahead()
    removed = purge_older_than(settings.RELAY_LOG_RETENTION_DAYS)
    rollup.purge_older_than()
    return removed
