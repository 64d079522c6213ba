"""Assemble parser events into messages and rejected attempts, and decide whose they are.

`assemble(events)` is pure: it groups events by (host, queue id) into `MessageDraft`s holding each
recipient's latest status (sent, deferred, bounced, expired, rejected) and the message's timeline, and turns
`NOQUEUE: reject` lines into `RejectDraft`s. A queue id seen again after `removed` starts a new message
(short queue ids are reused). Storing and merging with what is already stored is `relay.ingest`'s job.

Attributing drafts to customers reads the panel's tables, so it lives apart: `relay.ingest.attribution`.
"""

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from .models import (
    FINAL_STATUSES,
    RECORDED_BY_RECIPIENT,
    RelayEvent,
    Status,
    recorded_attempt_fields,
    worst_status,
)
from .parser import (
    _CLIENT_IP,
    _RFC3339_LINE,
    _SYSLOG_LINE,
    _TO_ATTRS,
    _USUAL_CLIENT,
    _USUAL_QUEUED,
    SYSLOG_GROUPS,
    Event,
    Kind,
    LineParser,
    SyslogClock,
    _ip,
)

# Lines that begin a message: smtpd's client=, pickup's uid=, and cleanup's message-id= (for mail Postfix
# makes itself, such as bounce notifications).
START_KINDS = (Kind.CLIENT, Kind.PICKUP, Kind.MESSAGE_ID)
# Plain strings for the hot loop (enum member access costs a descriptor call each time).
QUEUED, DEFERRED, EXPIRED, REJECTED = (
    s.value for s in (Status.QUEUED, Status.DEFERRED, Status.EXPIRED, Status.REJECTED)
)
STATUS_VALUES = frozenset(Status.values)
EVENT_ATTEMPT, EVENT_EXPIRED, EVENT_BOUNCE_NOTICE, EVENT_REJECTED = (
    k.value
    for k in (
        RelayEvent.Kind.ATTEMPT,
        RelayEvent.Kind.EXPIRED,
        RelayEvent.Kind.BOUNCE_NOTICE,
        RelayEvent.Kind.REJECTED,
    )
)


# The drafts' `__init__` is written out rather than the dataclass's: compiled (`relay.compiled`), the
# dataclass's own stays interpreted, and a draft or an event is made for almost every line a batch reads.
@dataclass(slots=True, init=False)
class RecipientDraft:
    address: str
    orig_to: str = ""
    status: str = QUEUED
    dsn: str = ""
    relay: str = ""
    delay: float | None = None
    response: str = ""
    at: datetime | None = None
    line_key: int | None = None  # the outcome is this attempt's, which has no event of its own

    def __init__(
        self,
        address: str,
        orig_to: str = "",
        status: str = QUEUED,
        dsn: str = "",
        relay: str = "",
        delay: float | None = None,
        response: str = "",
        at: datetime | None = None,
        line_key: int | None = None,
    ) -> None:
        self.address, self.orig_to, self.status, self.dsn, self.relay = address, orig_to, status, dsn, relay
        self.delay, self.response, self.at, self.line_key = delay, response, at, line_key

    def __reduce__(self) -> tuple:  # pickled by reader processes; compiled, the class has no other way
        return RecipientDraft, (
            self.address,
            self.orig_to,
            self.status,
            self.dsn,
            self.relay,
            self.delay,
            self.response,
            self.at,
            self.line_key,
        )

    def apply(
        self,
        events: list,
        *,
        at: datetime,
        status: str,
        dsn: str,
        relay: str,
        delay: float | None,
        response: str,
        key: int | None = None,
    ) -> bool:
        """Take an outcome if it is the latest (on a tie, a final outcome wins over deferred); `key` is its
        line's when the recipient is to be the attempt's only record. An attempt the recipient stood for and
        no longer does goes to `events` (the message's). True if the outcome was taken."""
        if self.at is not None and (at < self.at or (at == self.at and self.status in FINAL_STATUSES)):
            return False
        if self.line_key is not None:
            events.append(self.recorded_attempt())
        self.status, self.dsn, self.relay, self.delay, self.response, self.at, self.line_key = (
            status,
            dsn,
            relay,
            delay,
            response,
            at,
            key,
        )
        return True

    def recorded_attempt(self) -> "EventDraft":
        """The attempt the recipient stands for, as an event (see `RelayRecipient.recorded_attempt`)."""
        return EventDraft(**recorded_attempt_fields(self))

    def expire(self, at: datetime) -> None:
        if self.status in (DEFERRED, QUEUED) and (self.at is None or self.at <= at):
            self.status, self.at = EXPIRED, at


@dataclass(slots=True, init=False)
class EventDraft:
    at: datetime
    kind: str
    line_key: int
    recipient: str = ""
    status: str = ""
    dsn: str = ""
    relay: str = ""
    delay: float | None = None
    response: str = ""

    def __init__(
        self,
        at: datetime,
        kind: str,
        line_key: int,
        recipient: str = "",
        status: str = "",
        dsn: str = "",
        relay: str = "",
        delay: float | None = None,
        response: str = "",
    ) -> None:
        self.at, self.kind, self.line_key, self.recipient, self.status = at, kind, line_key, recipient, status
        self.dsn, self.relay, self.delay, self.response = dsn, relay, delay, response

    def __reduce__(self) -> tuple:  # see `RecipientDraft.__reduce__`
        return EventDraft, (
            self.at,
            self.kind,
            self.line_key,
            self.recipient,
            self.status,
            self.dsn,
            self.relay,
            self.delay,
            self.response,
        )


@dataclass(slots=True, init=False)
class MessageDraft:
    host: str
    queue_id: str
    first_at: datetime
    starts_here: bool  # the batch holds the message's first line (client= or pickup), so first_at is receipt
    first_kind: str = ""
    client: str = ""
    client_ip: str | None = None
    sasl_username: str = ""
    message_id: str = ""
    sender: str | None = None  # None: not seen in this batch ("" is the null sender of bounces)
    size: int | None = None
    nrcpt: int | None = None
    rejected: bool = False
    expired_at: datetime | None = None
    removed_at: datetime | None = None
    bounce_queue_id: str = ""
    recipients: dict = field(default_factory=dict)  # (address, orig_to) -> RecipientDraft
    events: list = field(default_factory=list)
    # A reader process hands the events of a draft that continues a stored message to the writer as `COPY`
    # text lines without the message's id (`relay.ingest.fastpath.pack_events`): text pickles cheaply.
    event_lines: list = field(default_factory=list)

    def __init__(
        self,
        host: str,
        queue_id: str,
        first_at: datetime,
        starts_here: bool,
        first_kind: str = "",
        client: str = "",
        client_ip: str | None = None,
        sasl_username: str = "",
        message_id: str = "",
        sender: str | None = None,
        size: int | None = None,
        nrcpt: int | None = None,
        rejected: bool = False,
        expired_at: datetime | None = None,
        removed_at: datetime | None = None,
        bounce_queue_id: str = "",
        recipients: dict | None = None,
        events: list | None = None,
        event_lines: list | None = None,
    ) -> None:
        self.host, self.queue_id, self.first_at, self.starts_here = host, queue_id, first_at, starts_here
        self.first_kind, self.client, self.client_ip, self.sasl_username = (
            first_kind,
            client,
            client_ip,
            sasl_username,
        )
        self.message_id, self.sender, self.size, self.nrcpt = message_id, sender, size, nrcpt
        self.rejected, self.expired_at, self.removed_at = rejected, expired_at, removed_at
        self.bounce_queue_id = bounce_queue_id
        self.recipients = {} if recipients is None else recipients
        self.events = [] if events is None else events
        self.event_lines = [] if event_lines is None else event_lines

    def __reduce__(self) -> tuple:  # see `RecipientDraft.__reduce__`
        return MessageDraft, (
            self.host,
            self.queue_id,
            self.first_at,
            self.starts_here,
            self.first_kind,
            self.client,
            self.client_ip,
            self.sasl_username,
            self.message_id,
            self.sender,
            self.size,
            self.nrcpt,
            self.rejected,
            self.expired_at,
            self.removed_at,
            self.bounce_queue_id,
            self.recipients,
            self.events,
            self.event_lines,
        )

    @property
    def status(self) -> str:
        if self.rejected:
            return REJECTED
        return worst_status(r.status for r in self.recipients.values())

    def timeline(self) -> list["EventDraft"]:
        """Every event, with the attempts its recipients stand for, by time (as `timeline_events` does)."""
        recorded = [r.recorded_attempt() for r in self.recipients.values() if r.line_key is not None]
        return sorted([*self.events, *recorded], key=lambda event: event.at)

    def recipient(self, address: str, orig_to: str) -> RecipientDraft:
        key = (address, orig_to)
        draft = self.recipients.get(key)
        if draft is None:
            draft = self.recipients[key] = RecipientDraft(address=address, orig_to=orig_to)
        return draft


@dataclass(slots=True)
class RejectDraft:
    host: str
    at: datetime
    line_key: int
    stage: str
    client: str
    client_ip: str | None
    sender: str
    recipient: str
    dsn: str
    response: str
    sasl_username: str
    queue_id: str = ""


@dataclass
class Assembly:
    messages: list[MessageDraft]
    rejects: list[RejectDraft]


def assemble(events: Iterable[Event]) -> Assembly:
    """Group events into message drafts (in order of first appearance) and reject drafts."""
    open_drafts: dict[tuple[str, str], MessageDraft] = {}
    messages: list[MessageDraft] = []
    rejects: list[RejectDraft] = []
    for event in events:
        _take(event, open_drafts, messages, rejects)
    return Assembly(messages=messages, rejects=rejects)


def assemble_lines(
    lines: Iterable[str | bytes], *, host: str | None = None, clock: SyslogClock | None = None
) -> Assembly:
    """`assemble(parse_lines(lines, host=host, clock=clock))` in one pass: what ingest runs.

    The lines that make most of a log (delivery attempts, client=, message-id=, queued from=, removed)
    update their message's draft directly, through the same functions `assemble` uses, without an event in
    between; every other line goes through `parse_lines`' and `assemble`'s own code. The tests hold the two
    ways to the same result on every log they have.
    """
    parser = LineParser(host=host, clock=clock or SyslogClock())
    open_drafts: dict[tuple[str, str], MessageDraft] = {}
    messages: list[MessageDraft] = []
    rejects: list[RejectDraft] = []
    # Local names for the expressions the loop tries on every line: a global lookup each time adds up. (The
    # dictionary's and the parser's methods are called directly: compiled, those are the quicker calls.)
    syslog_line, rfc3339_line, syslog_groups = _SYSLOG_LINE.match, _RFC3339_LINE.match, SYSLOG_GROUPS
    usual_queued, usual_client, attempt_of = _USUAL_QUEUED.match, _USUAL_CLIENT.match, _TO_ATTRS.match
    client_ip_of = _CLIENT_IP.search
    general = ("to=<", "client=", "message-id=", "from=<", "removed")
    host_override = parser.host
    for raw in lines:
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        if "\x00" in raw:
            raw = raw.replace("\x00", "")
        line = raw.rstrip("\r\n")
        try:
            if syslog_groups is not None:  # the line expression in C (`relay.parser.SYSLOG_GROUPS`)
                groups = syslog_groups(line)
            else:
                groups = None if (match := syslog_line(line)) is None else match.groups()
            if groups is None:
                if not line[:1].isdigit() or (match := rfc3339_line(line)) is None:
                    continue
                groups = match.groups()
            stamp, line_host, prog, qid, rest = groups
            at = parser._last_at if stamp == parser._last_stamp else parser._time(stamp)
            if qid == "NOQUEUE" or not rest.startswith(general):
                event = parser.event(line, at, line_host, prog, qid, rest)
                if event is not None:
                    _take(event, open_drafts, messages, rejects)
                continue
            first = rest[0]
            if (
                first == "f" or first == "c"
            ):  # from=<, client=: their usual shapes here, others the general way
                usual = (usual_queued if first == "f" else usual_client)(rest)
                if usual is None:
                    event = parser.event(line, at, line_host, prog, qid, rest)
                    if event is not None:
                        _take(event, open_drafts, messages, rejects)
                    continue
            elif first == "r" and rest != "removed":
                continue  # like the parser: no kind
            elif first == "t":
                attempt = attempt_of(rest)
                if attempt is None:
                    continue
                to, orig_to, relay, delay_text, _delays, dsn, status, response = attempt.groups()
                delay = float(delay_text)
            qid = qid[:32]
            key_host = (host_override or line_host)[:100]
            draft = open_drafts.get((key_host, qid))
            if first == "t":
                if draft is None:  # an attempt never begins a message: no reused queue id to look for
                    draft = _draft_for(open_drafts, messages, key_host, qid, at, Kind.ATTEMPT)
                _apply_attempt(
                    draft,
                    at,
                    parser.key(key_host, line),
                    to,
                    orig_to or "",
                    relay,
                    delay,
                    dsn[:12],
                    status,
                    response or "",
                )
            elif first == "m":
                if draft is None or draft.removed_at is not None:
                    draft = _draft_for(open_drafts, messages, key_host, qid, at, Kind.MESSAGE_ID)
                draft.message_id = rest[len("message-id=") :].strip().strip("<>")[:500]
            elif first == "c":
                if draft is None or draft.removed_at is not None:
                    draft = _draft_for(open_drafts, messages, key_host, qid, at, Kind.CLIENT)
                assert usual is not None  # matched above
                client = usual[1][:300]
                address = client_ip_of(client)
                draft.client, draft.client_ip = client, _ip(address.group(1)) if address else None
                draft.sasl_username = (usual[2] or "")[:320] or draft.sasl_username
            elif first == "f":
                if draft is None:
                    draft = _draft_for(open_drafts, messages, key_host, qid, at, Kind.QUEUED)
                assert usual is not None  # matched above
                draft.sender, draft.size, draft.nrcpt = usual[1], int(usual[2]), int(usual[3])
            else:
                if draft is None:
                    draft = _draft_for(open_drafts, messages, key_host, qid, at, Kind.REMOVED)
                draft.removed_at = at
        except (ValueError, OverflowError, IndexError, KeyError):
            continue  # a broken line, as `parse_lines` skips it
    return Assembly(messages=messages, rejects=rejects)


def _take(event: Event, open_drafts: dict, messages: list, rejects: list) -> None:
    if event.queue_id is None:
        if event.kind == Kind.REJECT:
            rejects.append(_reject_draft(event))
        return
    _apply(_draft_for(open_drafts, messages, event.host, event.queue_id, event.at, event.kind), event)


def _draft_for(
    open_drafts: dict[tuple[str, str], MessageDraft],
    messages: list[MessageDraft],
    host: str,
    queue_id: str,
    at: datetime,
    kind: str,
) -> MessageDraft:
    """The open draft of (host, queue id), or a new one: a queue id reused after `removed` starts anew, but
    only with a line that begins a message."""
    draft = open_drafts.get((host, queue_id))
    if draft is None or (draft.removed_at is not None and kind in START_KINDS and at != draft.first_at):
        draft = MessageDraft(
            host=host,
            queue_id=queue_id,
            first_at=at,
            starts_here=kind in (Kind.CLIENT, Kind.PICKUP),
            first_kind=kind,
        )
        open_drafts[(host, queue_id)] = draft
        messages.append(draft)
    return draft


def _apply(draft: MessageDraft, event: Event) -> None:
    data = event.data
    kind = event.kind
    if kind == Kind.ATTEMPT:
        _apply_attempt(
            draft,
            event.at,
            event.line_key,
            data["to"],
            data["orig_to"],
            data["relay"],
            data["delay"],
            data["dsn"],
            data["status"],
            data["response"],
        )
    elif kind == Kind.CLIENT:
        draft.client, draft.client_ip = data["client"], data["client_ip"]
        draft.sasl_username = data["sasl_username"] or draft.sasl_username
    elif kind == Kind.MESSAGE_ID:
        draft.message_id = data["message_id"]
    elif kind == Kind.QUEUED:
        draft.sender, draft.size, draft.nrcpt = data["sender"], data["size"], data["nrcpt"]
    elif kind == Kind.PICKUP:
        draft.sender = data["sender"]
        draft.client = "pickup"
    elif kind == Kind.REMOVED:
        draft.removed_at = event.at
    elif kind == Kind.EXPIRED:
        _apply_expiry(draft, event)
    elif kind == Kind.BOUNCE_NOTICE:
        draft.bounce_queue_id = data["bounce_queue_id"]
        draft.events.append(
            EventDraft(
                at=event.at,
                kind=EVENT_BOUNCE_NOTICE,
                line_key=event.line_key,
                response=data["bounce_queue_id"],
            )
        )
    elif kind == Kind.REJECT:
        _apply_queued_reject(draft, event)


def _apply_attempt(
    draft: MessageDraft,
    at: datetime,
    key: int,
    to: str,
    orig_to: str,
    relay: str,
    delay: float | None,
    dsn: str,
    status: str,
    response: str,
) -> None:
    """An attempt's outcome goes to its recipient; the attempt becomes an event of the timeline, unless it is
    the recipient's final one (sent, bounced), for which the recipient row is the record."""
    address, orig_to, relay = to[:320], orig_to[:320], relay[:300]
    recipient = draft.recipient(address, orig_to)
    if key == recipient.line_key:
        return  # the very line again (a log holding a line twice): recorded already
    final = status in RECORDED_BY_RECIPIENT
    taken = recipient.apply(
        draft.events,
        at=at,
        status=status if status in STATUS_VALUES else DEFERRED,
        dsn=dsn,
        relay=relay,
        delay=delay,
        response=response,
        key=key if final else None,
    )
    if taken and final:
        return
    draft.events.append(
        EventDraft(
            at=at,
            kind=EVENT_ATTEMPT,
            line_key=key,
            recipient=address,
            status=status[:10],
            dsn=dsn,
            relay=relay,
            delay=delay,
            response=response,
        )
    )


def _apply_expiry(draft: MessageDraft, event: Event) -> None:
    draft.expired_at = event.at
    if event.data["sender"] is not None and draft.sender is None:
        draft.sender = event.data["sender"]
    for recipient in draft.recipients.values():
        recipient.expire(event.at)
    draft.events.append(EventDraft(at=event.at, kind=EVENT_EXPIRED, line_key=event.line_key, status=EXPIRED))


def _apply_queued_reject(draft: MessageDraft, event: Event) -> None:
    """A reject of a message that already has a queue id: one recipient (RCPT) or the whole message."""
    data = event.data
    if data["stage"] == "RCPT" and data["to"]:
        draft.recipient(data["to"][:320], "").apply(
            draft.events,
            at=event.at,
            status=REJECTED,
            dsn=data["dsn"],
            relay="",
            delay=None,
            response=data["response"],
        )
    else:
        draft.rejected = True
    if draft.sender is None and data["sender"]:
        draft.sender = data["sender"]
    draft.events.append(
        EventDraft(
            at=event.at,
            kind=EVENT_REJECTED,
            line_key=event.line_key,
            recipient=data["to"][:320],
            status=REJECTED,
            dsn=data["dsn"],
            response=data["response"],
        )
    )


def _reject_draft(event: Event) -> RejectDraft:
    data = event.data
    return RejectDraft(
        host=event.host,
        at=event.at,
        line_key=event.line_key,
        stage=data["stage"][:30],
        client=data["client"][:300],
        client_ip=data["client_ip"],
        sender=data["sender"][:320],
        recipient=data["to"][:320],
        dsn=data["dsn"],
        response=data["response"],
        sasl_username=data["sasl_username"][:320],
    )


@functools.lru_cache(maxsize=4_096)  # hosted domains and frequent senders recur in every batch; bounded
def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower().rstrip(".") if "@" in address else ""


@dataclass(frozen=True)
class Owner:
    customer_id: int | None
    credential_id: int | None = None
    direction: str = ""


NOBODY = Owner(customer_id=None)


@functools.lru_cache(maxsize=16_384)  # owners repeat message after message; a frozen instance is shareable
def _owner(customer_id: int, credential_id: int | None, direction: str) -> Owner:
    return Owner(customer_id=customer_id, credential_id=credential_id, direction=direction)
