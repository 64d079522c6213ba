"""Storing a batch the careful way: matching drafts to stored messages, merging recipients and timelines,
linking bounces, deduplicating rejects; re-ingesting the same lines adds nothing.
"""

import functools
from collections import defaultdict

from django.utils import timezone

from .. import partitions, rollup
from ..assembler import Assembly, EventDraft, MessageDraft, RecipientDraft
from ..bulk import allocate_ids, copy_rows, select_bound, update_rows
from ..models import (
    FINAL_STATUSES,
    RejectedAttempt,
    RelayCredential,
    RelayEvent,
    RelayMessage,
    RelayRecipient,
    Status,
    recorded_attempt_fields,
    worst_status,
)
from ..parser import Kind
from .attribution import CustomerDirectory
from .fastpath import BOUNCE_WINDOW, EVENT_COLUMNS, MESSAGE_COLUMNS, RECIPIENT_COLUMNS, REJECT_COLUMNS
from .result import QUEUE_LIFETIME, IngestResult


def store_assembly(assembly: Assembly, *, directory: CustomerDirectory) -> IngestResult:
    """Merge one batch of drafts into the database (call inside a transaction)."""
    usernames, domains = CustomerDirectory.wanted(assembly.messages, assembly.rejects)
    directory.prefetch(usernames=usernames, domains=domains)
    pairs = _match_existing(assembly.messages)
    existing_recipients = _existing_recipients([row for _d, row in pairs if row is not None])
    new_rows, changed_rows = [], []
    spilled: list[
        tuple[StoredMessage, object]
    ] = []  # attempts that recipients no longer stand for, as events
    now = timezone.now()
    for draft, row in pairs:
        recipients = existing_recipients.get(row.pk, {}) if row is not None else {}
        if row is None:
            row = new_message(draft.host, draft.queue_id, draft.first_at)
            new_rows.append((draft, row))
        else:
            changed_rows.append((draft, row))
        _merge_message(row, draft, recipients, directory, now, spilled)
    _insert_messages([row for _d, row in new_rows])
    # A retry of a deferred message changes nothing of the message itself (its recipient and timeline do).
    changed = [row for _d, row in changed_rows if row.merged() != row.loaded]
    if changed:
        update_rows(changed, MERGED_FIELDS, model=RelayMessage, partition_key="received_at")
    _store_recipients(new_rows, changed_rows, existing_recipients)
    _store_events(new_rows + changed_rows, spilled)
    relinked = link_bounces(new_rows + changed_rows)
    _touch_credentials(new_rows + changed_rows)
    rejects = _store_rejects(assembly, directory)
    _mark_rollup(new_rows + changed_rows, relinked, assembly)
    return IngestResult(messages=len(new_rows), rejects=rejects)


def _mark_rollup(pairs, relinked, assembly: Assembly) -> None:
    """The days whose daily counts this batch changed: its messages', the relinked ones', its rejects'."""
    rollup.mark_times(
        [row.received_at for _d, row in pairs]
        + [row.received_at for row in relinked]
        + [reject.at for reject in assembly.rejects]
    )


# The stored fields merging reads, in the order of `StoredMessage.__slots__` and `StoredRecipient.__slots__`.
MESSAGE_FIELDS = tuple(column for column in MESSAGE_COLUMNS if column != "updated_at")
RECIPIENT_FIELDS = ("id", *RECIPIENT_COLUMNS)  # the last: the message's received_at, the partition key


class StoredMessage:
    """A message row's fields as plain attributes: what merging reads and writes, read with `values_list`
    (a model instance per row cost more than the merge itself). `loaded` keeps the merged fields as they
    were read, so that only rows that changed are written back."""

    __slots__ = (*(name if name != "id" else "pk" for name in MESSAGE_FIELDS), "updated_at", "loaded")

    def __init__(self, values) -> None:
        for name, value in zip(self.__slots__, values):  # noqa: B905 (updated_at, loaded set below)
            setattr(self, name, value)
        self.updated_at = None
        self.loaded = self.merged()

    def merged(self) -> tuple:
        return tuple(getattr(self, name) for name in MERGED_FIELDS[:-1])


class StoredRecipient:
    """A recipient row's fields as plain attributes (see `StoredMessage`)."""

    __slots__ = (*(name if name != "id" else "pk" for name in RECIPIENT_FIELDS), "_changed")

    def __init__(self, values) -> None:
        for name, value in zip(self.__slots__, values):  # noqa: B905 (_changed set below)
            setattr(self, name, value)
        self._changed = False

    def recorded_attempt(self) -> EventDraft | None:
        """The attempt the row stands for, as an event (see `RelayRecipient.recorded_attempt`)."""
        return None if self.line_key is None else EventDraft(**recorded_attempt_fields(self))


def stored_messages(queryset) -> list[StoredMessage]:
    return [StoredMessage(values) for values in queryset.values_list(*MESSAGE_FIELDS)]


MERGED_FIELDS = [
    "customer_id",
    "credential_id",
    "direction",
    "sender",
    "sasl_username",
    "client",
    "client_ip",
    "message_id",
    "size",
    "nrcpt",
    "status",
    "bounce_queue_id",
    "removed_at",
    "updated_at",
]


def _match_existing(drafts: list[MessageDraft]) -> list[tuple[MessageDraft, StoredMessage | None]]:
    """Pair each draft with the stored message it continues (or re-ingests), or None for a new message."""
    by_host: dict[str, list[MessageDraft]] = defaultdict(list)
    for draft in drafts:
        by_host[draft.host].append(draft)
    known: dict[tuple[str, str], list[StoredMessage]] = defaultdict(list)
    for host, host_drafts in by_host.items():
        earliest = min(d.first_at for d in host_drafts) - QUEUE_LIFETIME
        # Only host and queue id in SQL: the unique index (host, queue_id, received_at) answers that whatever
        # the table's statistics say; a time range there can tempt the planner into scanning a whole week.
        # (Where the table is partitioned by day, the range only leaves out the older days' partitions.)
        queue_ids = list({d.queue_id for d in host_drafts})
        if partitions.is_partitioned():
            rows = _stored_messages_where(
                "WHERE t.host = %s AND t.queue_id = ANY(%s) AND t.received_at >= %s",
                [host, queue_ids, _day_of(earliest)],
            )
        else:
            rows = stored_messages(RelayMessage.objects.filter(host=host, queue_id__in=queue_ids))
        for row in sorted(rows, key=lambda r: r.received_at):
            if row.received_at >= earliest:
                known[(host, row.queue_id)].append(row)
    return [(draft, _pick(draft, known.get((draft.host, draft.queue_id), []))) for draft in drafts]


def _day_of(earliest):
    """On PostgreSQL, where messages received since `earliest` are looked up (the caller checks the time
    anyway): the tables are partitioned by day there, and the start of its day leaves the older days'
    partitions unread."""
    return partitions.day_bounds(partitions.utc_day(earliest))[0]


def _stored_messages_where(where: str, params: list) -> list[StoredMessage]:
    """PostgreSQL: stored messages by SQL with bound parameters (`relay.bulk.select_bound`); the merge's
    lookups name thousands of queue ids a batch, which as Django's `IN (...)` literals cost more to build,
    send and parse than to answer."""
    return [
        StoredMessage(values) for values in select_bound(RelayMessage, list(MESSAGE_FIELDS), where, params)
    ]


def _pick(draft: MessageDraft, rows: list[StoredMessage]) -> StoredMessage | None:
    """The stored message a draft belongs to: the same receipt, or else the latest earlier one with the id.

    A draft beginning with cleanup's message-id= after that message left the queue is a new message that
    reuses the queue id; any other line continues (or repeats) the latest one.
    """
    earlier = [row for row in rows if row.received_at <= draft.first_at]
    if draft.starts_here:
        return next((row for row in earlier if row.received_at == draft.first_at), None)
    if not earlier:
        return None
    previous = earlier[-1]
    removed_before = previous.removed_at is not None and previous.removed_at < draft.first_at
    if removed_before and draft.first_kind == Kind.MESSAGE_ID:
        return None
    return previous


def _existing_recipients(rows: list[StoredMessage]) -> dict[int, dict[tuple[str, str], StoredRecipient]]:
    found: dict[int, dict[tuple[str, str], StoredRecipient]] = defaultdict(dict)
    if not rows:
        return found
    received = {row.pk: row.received_at for row in rows}
    if partitions.is_partitioned():  # each message's recipients looked up in its own day's partition only
        values_list = select_bound(
            RelayRecipient,
            list(RECIPIENT_FIELDS),
            "JOIN unnest(%s::bigint[], %s::timestamptz[]) AS m(id, received_at)"
            " ON t.message_id = m.id AND t.received_at = m.received_at",
            [list(received), list(received.values())],
        )
    else:
        values_list = RelayRecipient.objects.filter(
            message__in=list(received), received_at__in=set(received.values())
        ).values_list(*RECIPIENT_FIELDS)
    for values in values_list:
        recipient = StoredRecipient(values)
        found[recipient.message_id][(recipient.address, recipient.orig_to)] = recipient
    return found


@functools.cache
def _message_defaults() -> tuple:
    """Every merged field's default, in the order of `MESSAGE_FIELDS` (no id, host, queue id, receipt)."""
    fields = {field.attname: field for field in RelayMessage._meta.concrete_fields}
    return tuple(fields[name].get_default() for name in MESSAGE_FIELDS[4:])


def new_message(host: str, queue_id: str, received_at) -> StoredMessage:
    """A new message, not yet stored (its id comes with `_insert_messages`)."""
    return StoredMessage((None, host, queue_id, received_at, *_message_defaults()))


def _insert_messages(rows: list[StoredMessage]) -> None:
    """Insert new messages with ids from the sequence, and set them."""
    if not rows:
        return
    for row, pk in zip(rows, allocate_ids(RelayMessage, len(rows)), strict=True):
        row.pk = pk
    names = ["pk" if name == "id" else name for name in MESSAGE_FIELDS] + ["updated_at"]
    copy_rows(
        RelayMessage,
        [*MESSAGE_FIELDS, "updated_at"],
        [tuple(getattr(row, name) for name in names) for row in rows],
    )


def _merge_message(
    row: StoredMessage,
    draft: MessageDraft,
    recipients: dict,
    directory: CustomerDirectory,
    now,
    spilled: list,
) -> None:
    row.client = draft.client or row.client
    row.client_ip = draft.client_ip or row.client_ip
    row.sasl_username = draft.sasl_username or row.sasl_username
    row.message_id = draft.message_id or row.message_id
    if draft.sender is not None:
        row.sender = draft.sender[:320]
    row.size = draft.size if draft.size is not None else row.size
    row.nrcpt = draft.nrcpt if draft.nrcpt is not None else row.nrcpt
    row.bounce_queue_id = draft.bounce_queue_id or row.bounce_queue_id
    row.removed_at = draft.removed_at or row.removed_at
    row.updated_at = now
    statuses = _merged_statuses(draft, recipients, lambda attempt: spilled.append((row, attempt)))
    if draft.rejected or row.status == Status.REJECTED:
        row.status = Status.REJECTED
    else:
        row.status = worst_status(statuses)
    if row.customer_id is None:
        addresses = list(draft.recipients) + list(recipients)
        owner = directory.owner_of_message(
            sasl_username=row.sasl_username,
            recipients=addresses,
            sender=row.sender,
            client_ip=row.client_ip,
            client=row.client,
        )
        row.customer_id, row.credential_id, row.direction = (
            owner.customer_id,
            owner.credential_id,
            owner.direction,
        )


def _merged_statuses(draft: MessageDraft, stored: dict, spill) -> list[str]:
    """Fold the draft's recipients into the stored ones (in place) and return all their statuses. Attempts
    that a recipient stood for and no longer does are handed to `spill` as events, to be stored."""
    for key, recipient in draft.recipients.items():
        existing = stored.get(key)
        if existing is not None:
            _fold(existing, recipient, spill)
    if draft.expired_at is not None:
        for key, existing in stored.items():
            if key not in draft.recipients and existing.status in (Status.DEFERRED, Status.QUEUED):
                existing.status, existing.at = Status.EXPIRED, draft.expired_at
                existing._changed = True
    keys = set(stored) | set(draft.recipients)
    return [(stored[key] if key in stored else draft.recipients[key]).status for key in keys]


def _fold(existing: StoredRecipient, draft: RecipientDraft, spill) -> None:
    if draft.at is None or draft.line_key is not None and draft.line_key == existing.line_key:
        return  # nothing new, or the very attempt the stored row stands for
    if existing.at is not None and (
        draft.at < existing.at or (draft.at == existing.at and existing.status in FINAL_STATUSES)
    ):
        if draft.line_key is not None:  # an earlier final attempt, read after a later one: an event
            spill(draft.recorded_attempt())
        return
    if existing.line_key is not None:  # the stored row's attempt is replaced: it becomes an event
        spill(existing.recorded_attempt())  # taken now, before the row changes
    existing.status, existing.dsn, existing.relay = draft.status, draft.dsn, draft.relay
    existing.delay, existing.response, existing.at = draft.delay, draft.response, draft.at
    existing.line_key = draft.line_key
    existing._changed = True


def _store_recipients(new_pairs, changed_pairs, stored: dict) -> None:
    """Recipients of messages new in this batch go straight in: their message ids were just drawn from the
    sequence, so nothing can conflict and no staging table is needed. Those of stored messages are merged."""
    fresh = [_recipient_row(row, r) for draft, row in new_pairs for r in draft.recipients.values()]
    copy_rows(RelayRecipient, RECIPIENT_COLUMNS, fresh)
    new, changed = [], []
    for draft, row in changed_pairs:
        known = stored.get(row.pk, {})
        new.extend(_recipient_row(row, r) for key, r in draft.recipients.items() if key not in known)
        changed.extend(r for r in known.values() if getattr(r, "_changed", False))
    copy_rows(RelayRecipient, RECIPIENT_COLUMNS, new, ignore_conflicts=True)
    if changed:
        update_rows(
            changed,
            ["status", "dsn", "relay", "delay", "response", "at", "line_key"],
            model=RelayRecipient,
            partition_key="received_at",
        )


def _recipient_row(message: StoredMessage, r: RecipientDraft) -> tuple:
    return (
        message.pk,
        r.address,
        r.orig_to,
        r.status,
        r.dsn,
        r.relay,
        r.delay,
        r.response,
        r.at,
        r.line_key,
        message.received_at,
    )


def _store_events(pairs, spilled=()) -> None:
    events = [(row, e) for draft, row in pairs for e in draft.events]
    events += spilled
    rows = [
        (
            row.pk,
            e.at,
            e.kind,
            e.recipient,
            e.status,
            e.dsn,
            e.relay,
            e.delay,
            e.response,
            e.line_key,
            row.received_at,
        )
        for row, e in events
    ]
    # See `pack_events`: the lines lack the message's id, and its receipt time (the partition key) after.
    lines = [
        f"{row.pk}{line}\t{received}"
        for draft, row in pairs
        if draft.event_lines
        for received in (row.received_at.isoformat(),)
        for line in draft.event_lines
    ]
    copy_rows(RelayEvent, EVENT_COLUMNS, rows, ignore_conflicts=True, lines=lines)


def link_bounces(pairs) -> list[StoredMessage | RelayMessage]:
    """Link bounce notifications (`sender non-delivery notification: NEWID`) to the message that caused them.

    Either side may be in this batch: the original with its notice, or the notification message (null sender).
    Two queries at most, however many bounces the batch holds. Returns the notifications it linked.
    """
    null_senders = {row.pk: row for _d, row in pairs if row.sender == "" and row.bounce_of_id is None}
    changed: dict[int, StoredMessage | RelayMessage] = {}
    notices = []
    for draft, row in pairs:
        if draft.bounce_queue_id:
            at = next((e.at for e in draft.events if e.kind == RelayEvent.Kind.BOUNCE_NOTICE), draft.first_at)
            notices.append((row, draft.bounce_queue_id, at))
    if notices:
        candidates = defaultdict(list)
        hosts, queue_ids = (
            list({row.host for row, _q, _at in notices}),
            list({qid for _r, qid, _at in notices}),
        )
        if partitions.is_partitioned():
            rows = _stored_messages_where(
                "WHERE t.host = ANY(%s) AND t.queue_id = ANY(%s) AND t.bounce_of_id IS NULL"
                " AND t.received_at >= %s",
                [hosts, queue_ids, _day_of(min(at for _row, _q, at in notices) - BOUNCE_WINDOW)],
            )
        else:
            rows = stored_messages(
                RelayMessage.objects.filter(host__in=hosts, queue_id__in=queue_ids, bounce_of__isnull=True)
            )
        for candidate in sorted(rows, key=lambda r: r.received_at):
            candidates[(candidate.host, candidate.queue_id)].append(candidate)
        for original, qid, at in notices:
            near = [c for c in candidates[(original.host, qid)] if abs(c.received_at - at) <= BOUNCE_WINDOW]
            if near:
                notification = null_senders.get(near[0].pk, near[0])
                _set_bounce_of(notification, original)
                changed[notification.pk] = notification
    orphans = [row for pk, row in null_senders.items() if pk not in changed]
    if orphans:
        originals = defaultdict(list)
        oldest = min(r.received_at for r in orphans) - QUEUE_LIFETIME
        hosts, queue_ids = list({r.host for r in orphans}), list({r.queue_id for r in orphans})
        if partitions.is_partitioned():
            rows = (
                _stored_messages_where(  # <> '': the very condition of the partial index relaymsg_bounce_qid
                    "WHERE t.host = ANY(%s) AND t.bounce_queue_id = ANY(%s) AND NOT (t.bounce_queue_id = '')"
                    " AND t.received_at >= %s",
                    [hosts, queue_ids, _day_of(oldest)],
                )
            )
        else:
            rows = stored_messages(
                RelayMessage.objects.filter(host__in=hosts, bounce_queue_id__in=queue_ids).exclude(
                    bounce_queue_id=""
                )
            )
        for original in sorted(rows, key=lambda r: r.received_at):
            if original.received_at >= oldest:
                originals[(original.host, original.bounce_queue_id)].append(original)
        for row in orphans:
            match = [
                o
                for o in originals[(row.host, row.queue_id)]
                if o.received_at <= row.received_at + BOUNCE_WINDOW
            ]
            if match:
                _set_bounce_of(row, match[-1])
                changed[row.pk] = row
    if changed:
        update_rows(
            list(changed.values()),
            ["bounce_of_id", "customer_id", "direction"],
            model=RelayMessage,
            partition_key="received_at",
        )
    return list(changed.values())


def _set_bounce_of(notification, original) -> None:
    notification.bounce_of_id = original.pk
    if original.customer_id:
        notification.customer_id = original.customer_id
        notification.direction = original.direction


def _touch_credentials(pairs) -> None:
    """Move each used credential's `last_used_at` forward (two queries however many were used)."""
    latest: dict[int, object] = {}
    for _draft, row in pairs:
        if row.credential_id and (
            row.credential_id not in latest or row.received_at > latest[row.credential_id]
        ):
            latest[row.credential_id] = row.received_at
    move_last_used(latest)


def move_last_used(latest: dict) -> None:
    if not latest:
        return
    credentials = list(RelayCredential.objects.filter(pk__in=latest).only("pk", "last_used_at"))
    moved = [c for c in credentials if c.last_used_at is None or c.last_used_at < latest[c.pk]]
    for credential in moved:
        credential.last_used_at = latest[credential.pk]
    if moved:
        RelayCredential.objects.bulk_update(moved, ["last_used_at"])  # one UPDATE ... CASE


def _store_rejects(assembly: Assembly, directory: CustomerDirectory) -> int:
    rows = []
    for reject in assembly.rejects:
        owner = directory.owner_of_reject(reject)
        rows.append(
            (
                reject.host,
                reject.at,
                owner.customer_id,
                owner.credential_id,
                reject.stage,
                reject.client,
                reject.client_ip,
                reject.sender,
                reject.recipient,
                reject.dsn,
                reject.response,
                reject.line_key,
                reject.queue_id,
            )
        )
    copy_rows(RejectedAttempt, REJECT_COLUMNS, rows, ignore_conflicts=True)
    return len(rows)
