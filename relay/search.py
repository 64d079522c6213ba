"""Searching the relay log: the panel's filters as a queryset, keyset pages, and the daily status chart.

Pages use a keyset cursor (received_at, id) instead of OFFSET/COUNT: the cost of a page stays the same
however deep the customer pages and however many rows the log holds.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import RejectedAttempt, RelayCredential, RelayDailyCount, RelayMessage, RelayRecipient, Status
from .parser import _ip

PAGE_SIZE = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHART_DAYS = 14


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _address_q(field: str, value: str) -> Q:
    """Exact address match that can use the index: as typed, or in lower case."""
    return Q(**{f"{field}__in": sorted({value, value.lower()})})


STAFF_SEARCH_LIMIT = 1_000


class Found(list):
    """The ids a staff search found, and the first and last time among them (`span`, None for none)."""

    span: tuple[datetime, datetime] | None = None


def rows_found(queryset: QuerySet, found: list[int], time_field: str = "received_at") -> QuerySet:
    """The rows of the ids found. Naming their time range too lets PostgreSQL read only those days'
    partitions (`relay.partitions`), where ids alone would be looked for in every day's."""
    queryset = queryset.filter(pk__in=found)
    span = getattr(found, "span", None)
    if span is not None:
        queryset = queryset.filter(**{f"{time_field}__gte": span[0], f"{time_field}__lte": span[1]})
    return queryset


def staff_search(term: str, *, limit: int | None = None) -> tuple[Found, bool]:
    """The ids of the messages a support search finds in the whole relay log (all customers), and whether
    any one kind of match was cut at `limit` (its newest kept): a queue id, a Message-ID (with or without
    its angle brackets), a sender, a recipient (also as originally addressed) or a relay credential.

    One indexed lookup per kind, each bounded: the admin's own search would compare every field in upper
    case, an expression no index holds, and read millions of rows per search."""
    limit = limit or STAFF_SEARCH_LIMIT
    term = term.strip()
    if not term:
        return [], False
    addresses = sorted({term, term.lower()})
    by_time = RelayMessage.objects.order_by("-received_at").values_list("pk", "received_at")
    lookups = [
        by_time.filter(queue_id__in=sorted({term, term.upper()})),
        by_time.filter(message_id__in=sorted({term, term.removeprefix("<").removesuffix(">")})),
        # One query per spelling: the index (sender, received_at) then gives them in order, where an IN list
        # can tempt the planner into walking the whole log by time in search of a rare sender.
        *(by_time.filter(sender=address) for address in addresses),
        RelayRecipient.objects.filter(_address_q("address", term) | _address_q("orig_to", term))
        .order_by("-message_id")
        .values_list("message_id", "received_at"),
    ]
    credential = RelayCredential.objects.filter(username=term).values_list("pk", flat=True).first()
    if credential is not None:
        lookups.append(by_time.filter(credential_id=credential))
    return _newest_of_each(lookups, limit)


def _newest_of_each(lookups: list[QuerySet], limit: int) -> tuple[Found, bool]:
    """The ids the lookups find (each gives ids with their times), at most `limit` of each, and whether any
    of them found more."""
    found: dict[int, datetime] = {}
    cut = False
    for lookup in lookups:
        rows = list(lookup[: limit + 1])
        cut = cut or len(rows) > limit
        found.update(rows[:limit])
    ids = Found(sorted(found))
    if found:
        ids.span = (min(found.values()), max(found.values()))
    return ids, cut


def staff_search_rejects(term: str, *, limit: int | None = None) -> tuple[Found, bool]:
    """As `staff_search`, for refused attempts: by sender, recipient or client IP address, exactly."""
    limit = limit or STAFF_SEARCH_LIMIT
    term = term.strip()
    if not term:
        return [], False
    by_time = RejectedAttempt.objects.order_by("-at").values_list("pk", "at")
    lookups = [
        by_time.filter(**{field: address})
        for field in ("sender", "recipient")
        for address in sorted({term, term.lower()})
    ]
    if _ip(term):
        lookups.append(by_time.filter(client_ip=term))
    return _newest_of_each(lookups, limit)


def filter_messages(messages: QuerySet, filters: dict) -> QuerySet:
    if filters.get("since"):
        messages = messages.filter(received_at__gte=_day_start(filters["since"]))
    if filters.get("until"):
        messages = messages.filter(received_at__lt=_day_start(filters["until"] + timedelta(days=1)))
    if filters.get("status"):
        messages = messages.filter(status=filters["status"])
    if filters.get("sender"):
        messages = messages.filter(_address_q("sender", filters["sender"]))
    if filters.get("recipient"):
        matching = RelayRecipient.objects.filter(
            _address_q("address", filters["recipient"]) | _address_q("orig_to", filters["recipient"])
        )
        messages = messages.filter(pk__in=matching.values("message_id"))
    if filters.get("message_id"):
        messages = messages.filter(message_id=filters["message_id"])
    if filters.get("credential"):
        messages = messages.filter(credential=filters["credential"])
    return messages


def filter_rejects(rejects: QuerySet, filters: dict) -> QuerySet:
    if filters.get("status") not in ("", None, Status.REJECTED) or filters.get("message_id"):
        return rejects.none()
    if filters.get("since"):
        rejects = rejects.filter(at__gte=_day_start(filters["since"]))
    if filters.get("until"):
        rejects = rejects.filter(at__lt=_day_start(filters["until"] + timedelta(days=1)))
    if filters.get("sender"):
        rejects = rejects.filter(_address_q("sender", filters["sender"]))
    if filters.get("recipient"):
        rejects = rejects.filter(_address_q("recipient", filters["recipient"]))
    if filters.get("credential"):
        rejects = rejects.filter(credential=filters["credential"])
    return rejects


def encode_cursor(message: RelayMessage) -> str:
    micros = (message.received_at - EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{message.pk}"


def decode_cursor(text: str | None) -> tuple[datetime, int] | None:
    try:
        micros, pk = (int(part) for part in (text or "").split("."))
        return EPOCH + timedelta(microseconds=micros), pk
    except (ValueError, OverflowError, OSError):
        return None


@dataclass
class Page:
    messages: list
    next_cursor: str | None
    is_first: bool


def page_of(messages: QuerySet, cursor: str | None, *, size: int = PAGE_SIZE) -> Page:
    """One page, newest first, after `cursor`; one query for the rows (+1 for their recipients' addresses)."""
    position = decode_cursor(cursor)
    if position is not None:
        at, pk = position
        messages = messages.filter(Q(received_at__lt=at) | Q(received_at=at, pk__lt=pk))
    rows = list(messages.order_by("-received_at", "-id").select_related("credential")[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    attach_recipient_addresses(rows)
    return Page(
        messages=rows, next_cursor=encode_cursor(rows[-1]) if has_more else None, is_first=position is None
    )


def attach_recipient_addresses(messages: list[RelayMessage]) -> None:
    """Each message's recipient addresses, in the order they were stored, as `message.recipient_addresses`:
    one query that also names the messages' receipt times, so that on PostgreSQL it reads only those days'
    partitions (`relay.partitions`), not every day's. Addresses only: the page shows nothing else of them,
    and a prefetch (a queryset and a model instance per recipient, a related manager per message) cost the
    page a fifth of its CPU."""
    addresses: dict[int, list[str]] = defaultdict(list)
    if messages:
        rows = (
            RelayRecipient.objects.filter(
                received_at__in={message.received_at for message in messages}, message__in=messages
            )
            .order_by("id")
            .values_list("message_id", "address")
        )
        for message_id, address in rows:
            addresses[message_id].append(address)
    for message in messages:
        message.recipient_addresses = addresses[message.pk]


@dataclass
class ChartDay:
    day: date
    total: int
    segments: list  # (status, label, count, percent of the tallest day)


def daily_chart(customer, *, days: int = CHART_DAYS, today: date | None = None) -> list[ChartDay]:
    """Messages per day and status over the last `days` days (rejected attempts count as rejected).

    Read from the daily roll-up (`relay.rollup`), a few dozen rows, not from the raw rows."""
    today = today or timezone.localdate()
    start = today - timedelta(days=days - 1)
    counts: dict[date, dict[str, int]] = {start + timedelta(days=i): {} for i in range(days)}
    rows = RelayDailyCount.objects.filter(customer=customer, day__gte=start, day__lte=today).values_list(
        "day", "status", "count"
    )
    for day, status, n in rows:
        counts[day][status] = counts[day].get(status, 0) + n
    tallest = max((sum(c.values()) for c in counts.values()), default=0) or 1
    labels = dict(Status.choices)
    chart = []
    for day, by_status in counts.items():
        segments = [
            (status, labels[status], by_status[status], round(100 * by_status[status] / tallest, 1))
            for status in Status.values
            if by_status.get(status)
        ]
        chart.append(ChartDay(day=day, total=sum(by_status.values()), segments=segments))
    return chart
