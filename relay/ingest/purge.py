"""Retention: removing relay log rows older than the retention period.

On PostgreSQL the tables are partitioned by UTC day (`relay.partitions`): whole days older than the cutoff
are dropped, which costs the same at any size. Elsewhere (SQLite) the rows are deleted, in chunks. Either
way the cutoff is the start of a UTC day, so both keep the same rows: at least `days` days, at most one
more."""

from datetime import UTC, datetime, timedelta

from django.db import transaction

from .. import partitions
from ..models import (
    RejectedAttempt,
    RelayMessage,
)

PURGE_CHUNK = 5_000


def purge_older_than(days: int) -> tuple[int, int]:
    """Remove messages (with their recipients and events) and rejected attempts received before the start of
    the UTC day `days` days ago. Returns the numbers of messages and rejected attempts removed."""
    cutoff_day = (datetime.now(UTC) - timedelta(days=days)).date()
    if partitions.is_partitioned():
        dropped = partitions.drop_before(cutoff_day)
        return dropped["relay_relaymessage"], dropped["relay_rejectedattempt"]
    cutoff, _end = partitions.day_bounds(cutoff_day)
    return _purge_chunks(RelayMessage.objects.filter(received_at__lt=cutoff)), _purge_chunks(
        RejectedAttempt.objects.filter(at__lt=cutoff)
    )


def _purge_chunks(queryset) -> int:
    deleted = 0
    while ids := list(queryset.values_list("pk", flat=True)[:PURGE_CHUNK]):
        with transaction.atomic():
            queryset.model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted
