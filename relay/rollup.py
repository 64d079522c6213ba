"""The daily roll-up the customer's chart reads: messages per customer, local day and status.

Counting a customer's two weeks from the raw rows cost the chart a scan of every message they received in
that time, on each view of the relay log page. The chart now reads `RelayDailyCount`, at most a few dozen
rows. The ingest marks the days its batches changed (`mark_days`, `mark_span`: a `RelayDailyPending` row in
the batch's own transaction); `refresh` rebuilds each marked day from the raw rows (one day partition on
PostgreSQL) and clears the marks it read. It runs after every ingest run (the periodic task, the `relaylog
ingest` command, `ingest_lines`) and takes a moment: a day of a busy host is one aggregate over one
partition. Counts stay exact, whatever the ingest changed (a status that moved, a bounce notification linked
to its customer later), because a day is always counted again whole.

A message counts on the local day it was received, in its status; a refused attempt on its day, as rejected:
the numbers the chart showed when it counted the raw rows itself (`counts_from_raw_rows` still does, for
the tests that hold the two to the same numbers).
"""

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from .models import RejectedAttempt, RelayDailyCount, RelayDailyPending, RelayMessage, Status

_ADVISORY_KEY = 0x7265_6C61_7972  # "relayr": one rebuild at a time
# Roll-ups are small (a row per customer, day and status): a year of them is kept, past the raw rows.
ROLLUP_RETENTION_DAYS = 400


def local_day(at: datetime) -> date:
    return timezone.localtime(at, timezone.get_default_timezone()).date()


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def mark_days(days) -> None:
    """Note that the raw rows of these local days changed (call inside the transaction that changed them)."""
    days = set(days)
    if days:
        RelayDailyPending.objects.bulk_create([RelayDailyPending(day=day) for day in sorted(days)])


def mark_times(times) -> None:
    """`mark_days` for the days of these times (receipt times of messages, times of refused attempts)."""
    mark_days({local_day(at) for at in set(times)})


def mark_span(span: tuple[datetime, datetime] | None) -> None:
    """`mark_days` for every local day from the first to the last of a batch's times."""
    if span is None:
        return
    first, last = local_day(span[0]), local_day(span[1])
    mark_days(first + timedelta(days=i) for i in range((last - first).days + 1))


def refresh() -> list[date]:
    """Rebuild the counts of every marked day from the raw rows. Returns the days rebuilt.

    Only the marks read here are cleared: a batch committing meanwhile leaves its own mark for the next
    run. A mark is visible only once its batch committed, and each day is counted after its marks were read,
    so no committed change is ever left out."""
    pending = list(RelayDailyPending.objects.values_list("pk", "day"))
    if not pending:
        return []
    days = sorted({day for _pk, day in pending})
    for day in days:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_KEY])
            rebuild_day(day)
    RelayDailyPending.objects.filter(pk__in=[pk for pk, _day in pending]).delete()
    return days


def rebuild_day(day: date) -> None:
    """Replace the day's counts by those of the raw rows (call inside a transaction)."""
    counts = counts_from_raw_rows(day_start(day), day_start(day + timedelta(days=1)))
    RelayDailyCount.objects.filter(day=day).delete()
    RelayDailyCount.objects.bulk_create(
        [
            RelayDailyCount(customer_id=customer_id, day=day, status=status, count=n)
            for (customer_id, status), n in sorted(counts.items())
        ]
    )


def counts_from_raw_rows(start: datetime, end: datetime) -> dict[tuple[int, str], int]:
    """Messages received from `start` to `end` by customer and status, refused attempts as rejected."""
    counts: dict[tuple[int, str], int] = defaultdict(int)
    messages = (
        RelayMessage.objects.filter(received_at__gte=start, received_at__lt=end, customer__isnull=False)
        .values_list("customer_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for customer_id, status, n in messages:
        counts[(customer_id, status)] += n
    rejects = (
        RejectedAttempt.objects.filter(at__gte=start, at__lt=end, customer__isnull=False)
        .values_list("customer_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for customer_id, n in rejects:
        counts[(customer_id, Status.REJECTED.value)] += n
    return dict(counts)


def purge_older_than(days: int = ROLLUP_RETENTION_DAYS) -> int:
    cutoff = timezone.localdate(timezone=timezone.get_default_timezone()) - timedelta(days=days)
    deleted, _by_model = RelayDailyCount.objects.filter(day__lt=cutoff).delete()
    return deleted
