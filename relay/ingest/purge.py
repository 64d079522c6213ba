"""Retention: removing relay log rows older than the retention period, in chunks."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..models import (
    RejectedAttempt,
    RelayMessage,
)

PURGE_CHUNK = 5_000


def purge_older_than(days: int) -> tuple[int, int]:
    """Delete messages (with their recipients and events) and rejected attempts older than `days` days.

    In chunks, each its own transaction: a day of a busy host's log never becomes one huge delete.
    Returns the numbers of messages and rejected attempts deleted."""
    cutoff = timezone.now() - timedelta(days=days)
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
