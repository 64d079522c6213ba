"""`COPY` text of the relay log's drafts: pure, like the parser and the assembler, and compiled with them.

One line per row, values in the tables' column order (`relay.ingest.fastpath`'s `*_COLUMNS`), joined by
tabs, `\\N` for NULL. The loops here run for every message, recipient and event of a batch, so the common
cases are written out rather than called.
"""

from datetime import datetime

from .assembler import EVENT_BOUNCE_NOTICE, REJECTED, EventDraft, MessageDraft, Owner
from .models import worst_status

NULL = "\\N"
# COPY's text format: a backslash, tab, newline or carriage return inside a value must be escaped.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def text(value: str) -> str:
    # Checking first is several times faster than translating: almost no value holds any of these.
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


def stamp(at: datetime | None) -> str:
    return NULL if at is None else at.isoformat()


def number(value: int | float | None) -> str:
    return NULL if value is None else repr(value)


class Timestamps:
    """ISO text of the parser's datetimes: lines of the same second share one object, so each is formatted
    once (keyed by identity: the batch holds every object it has seen, so no id is reused meanwhile)."""

    def __init__(self) -> None:
        self.seen: dict[int, str] = {}

    def of(self, at: datetime) -> str:
        found = self.seen.get(id(at))
        if found is None:
            found = self.seen[id(at)] = at.isoformat()
        return found


class NewRows:
    """The lines of a batch's new messages, their recipients and events, and what rendering them found."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.recipients: list[str] = []
        self.events: list[str] = []
        self.seen_lines: set[int] = set()  # the line keys of the events (and then the rejects) rendered
        # New messages whose bounce link lies outside the batch: (draft, id, customer, direction).
        self.unlinked: list[tuple[MessageDraft, int, int | None, str]] = []
        self.credentials_used: dict[int, datetime] = {}  # credential id -> its latest use in the batch


def new_message_rows(
    fresh: list[MessageDraft],
    ids: list[int],
    owners: list[Owner],
    bounce_of: dict[int, int],
    unlinked_originals: set[int],
    now: str,
    when: Timestamps,
) -> NewRows:
    """Render messages that begin in the batch, with id `ids[i]` and owner `owners[i]` each; a bounce
    notification takes its original's owner (`bounce_of`: notification index -> original index)."""
    rows = NewRows()
    add_message, add_recipient, add_event = rows.messages.append, rows.recipients.append, rows.events.append
    seen_lines, credentials_used = rows.seen_lines, rows.credentials_used
    for index in range(len(fresh)):
        draft, pk, owner = fresh[index], ids[index], owners[index]
        customer_id, credential_id, direction = owner.customer_id, owner.credential_id, owner.direction
        original = bounce_of.get(index)
        if original is not None and owners[original].customer_id:
            customer_id, direction = owners[original].customer_id, owners[original].direction
        sender = "" if draft.sender is None else draft.sender[:320]
        if (sender == "" and original is None) or index in unlinked_originals:
            rows.unlinked.append((draft, pk, customer_id, direction))
        if credential_id and (
            credential_id not in credentials_used or draft.first_at > credentials_used[credential_id]
        ):
            credentials_used[credential_id] = draft.first_at
        drafts = draft.recipients
        if draft.rejected:
            status = REJECTED
        elif len(drafts) == 1:
            status = worst_status((next(iter(drafts.values())).status,))
        else:
            status = worst_status([r.status for r in drafts.values()])
        key = str(pk)
        received = when.of(draft.first_at)
        add_message(
            "\t".join(
                (
                    key,
                    text(draft.host),
                    draft.queue_id,  # letters and digits (the parser's expressions)
                    received,
                    NULL if customer_id is None else str(customer_id),
                    NULL if credential_id is None else str(credential_id),
                    direction,
                    text(sender),
                    text(draft.sasl_username),
                    text(draft.client),
                    draft.client_ip or NULL,
                    text(draft.message_id),
                    NULL if draft.size is None else str(draft.size),
                    NULL if draft.nrcpt is None else str(draft.nrcpt),
                    status,
                    NULL if original is None else str(ids[original]),
                    text(draft.bounce_queue_id),
                    NULL if draft.removed_at is None else when.of(draft.removed_at),
                    now,
                )
            )
        )
        for r in drafts.values():
            add_recipient(
                "\t".join(
                    (
                        key,
                        text(r.address),
                        text(r.orig_to),
                        r.status,
                        r.dsn,  # digits and dots (the parser's expressions)
                        text(r.relay),
                        NULL if r.delay is None else repr(r.delay),
                        text(r.response),
                        NULL if r.at is None else when.of(r.at),
                        NULL if r.line_key is None else str(r.line_key),
                        received,
                    )
                )
            )
        for e in draft.events:
            if e.line_key in seen_lines:
                continue  # the same line twice in the log: its event is stored once
            seen_lines.add(e.line_key)
            add_event(key + "\t" + event_line(e, when.of(e.at)) + "\t" + received)
    return rows


def event_line(e: EventDraft, at: str) -> str:
    """An event's columns between the message's id and its receipt time (the partition key)."""
    return "\t".join(
        (
            at,
            e.kind,
            text(e.recipient),
            e.status,  # a word (the parser's expressions) or one of ours
            e.dsn,
            text(e.relay),
            NULL if e.delay is None else repr(e.delay),
            text(e.response),
            str(e.line_key),
        )
    )


def pack_events(drafts: list[MessageDraft]) -> None:
    """Turn the events of drafts that continue stored messages into `COPY` lines of the event columns
    without the first (the message's id, which the writer adds once it has matched the draft) and the last
    (its receipt time). A reader process sends these drafts to the writer pickled, and a line of text costs
    a fraction of an event object to pickle and unpickle; on a log with long deferrals they are most of what
    travels. Bounce notices stay objects: linking bounces reads them."""
    when = Timestamps()
    for draft in drafts:
        kept = []
        lines = draft.event_lines
        for e in draft.events:
            if e.kind == EVENT_BOUNCE_NOTICE:
                kept.append(e)
                continue
            lines.append("\t" + event_line(e, when.of(e.at)))
        draft.events = kept
