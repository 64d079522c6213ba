"""The fast path of ingest: turn an assembled batch into rows ready for PostgreSQL's `COPY`.

Most messages of a batch begin in it (their `client=` or `pickup` line is there). Nothing stored can hold
them yet, so they need no matching with the database: `prepare` gives them ids from the sequence, decides
whose they are, links bounce notifications to their originals within the batch, and renders them, their
recipients and their timeline as `COPY` text, which then only has to be streamed into the tables. Where
readers run in child processes (a long catch-up), all of that happens there, beside the parsing, and each
reader streams its own batches in, while the writer merges and commits the earlier ones.

What the batch cannot settle alone goes to the writer as it is: drafts that continue a message stored
earlier (a greylisted recipient sent later, an expiry, a `removed`), and the few bounce links whose other
side is outside the batch. Should anything conflict after all (the same lines ingested twice, say), the
writer rolls the fast path back and merges the whole batch the careful way (`relay.ingest.merge`).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ..assembler import Assembly, MessageDraft
from ..bulk import allocate_ids, unescape_copy
from ..copyrows import NULL, Timestamps, new_message_rows, number, stamp, text
from ..models import RejectedAttempt, RelayEvent, RelayMessage, RelayRecipient
from .attribution import CustomerDirectory

MESSAGE_COLUMNS = [
    "id",
    "host",
    "queue_id",
    "received_at",
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
    "bounce_of_id",
    "bounce_queue_id",
    "removed_at",
    "updated_at",
]
RECIPIENT_COLUMNS = [
    "message_id",
    "address",
    "orig_to",
    "status",
    "dsn",
    "relay",
    "delay",
    "response",
    "at",
    "line_key",
    "received_at",  # the message's: the partition key (`relay.partitions`)
]
EVENT_COLUMNS = [
    "message_id",
    "at",
    "kind",
    "recipient",
    "status",
    "dsn",
    "relay",
    "delay",
    "response",
    "line_key",
    "received_at",
]
REJECT_COLUMNS = [
    "host",
    "at",
    "customer_id",
    "credential_id",
    "stage",
    "client",
    "client_ip",
    "sender",
    "recipient",
    "dsn",
    "response",
    "line_key",
    "queue_id",
]

# A bounce notification is matched to the message it reports on within this window.
BOUNCE_WINDOW = timedelta(hours=1)


@dataclass
class Rows:
    """`COPY` text for one table: the model, its columns, and one line per row."""

    model: type
    columns: list[str]
    text: str = ""
    count: int = 0


@dataclass
class Prepared:
    messages: Rows
    recipients: Rows
    events: Rows
    rejects: Rows
    # Drafts continuing a message stored in an earlier batch: the writer merges them with what is stored.
    continuing: list[MessageDraft] = field(default_factory=list)
    # New messages whose bounce link lies outside the batch: (draft, id, customer, direction).
    unlinked: list[tuple[MessageDraft, int, int | None, str]] = field(default_factory=list)
    # Credential id -> the latest time it was used in the batch.
    credentials_used: dict[int, datetime] = field(default_factory=dict)
    loaded: bool = False  # the rows are in the database already (a reader stored them)
    # The first and last time of the batch's messages and rejects (`relay.ingest.spans`): the days whose
    # partitions must exist and whose daily counts change.
    span: tuple[datetime, datetime] | None = None

    def load(self) -> bool:
        """Insert the rows (call inside a transaction). False, with nothing inserted, if they conflict with
        stored ones (lines ingested before): the whole batch must then be merged instead."""
        try:
            with transaction.atomic():
                for rows in (self.messages, self.recipients, self.events, self.rejects):
                    load(rows)
        except IntegrityError:
            return False
        self.loaded = True
        for rows in (self.messages, self.recipients, self.events, self.rejects):
            rows.text = ""  # stored: what travels on is the counts and what is left to merge
        return True


def prepare(assembly: Assembly, directory: CustomerDirectory) -> Prepared:
    """Render the batch's new messages and its rejects as `COPY` text; set the rest aside for the writer."""
    fresh = [draft for draft in assembly.messages if draft.starts_here]
    continuing = [draft for draft in assembly.messages if not draft.starts_here]
    usernames, domains = CustomerDirectory.wanted(fresh, assembly.rejects)
    directory.prefetch(usernames=usernames, domains=domains)
    ids = allocate_ids(RelayMessage, len(fresh))
    owners = [_owner(draft, directory) for draft in fresh]
    bounce_of, unlinked_originals = _link_within(fresh, ids)
    rows = new_message_rows(
        fresh, ids, owners, bounce_of, unlinked_originals, stamp(timezone.now()), Timestamps()
    )
    seen_lines = rows.seen_lines
    rejects = []
    for reject in assembly.rejects:
        if reject.line_key in seen_lines:
            continue
        seen_lines.add(reject.line_key)
        owner = directory.owner_of_reject(reject)
        rejects.append(
            "\t".join(
                (
                    text(reject.host),
                    reject.at.isoformat(),
                    number(owner.customer_id),
                    number(owner.credential_id),
                    text(reject.stage),
                    text(reject.client),
                    reject.client_ip or NULL,
                    text(reject.sender),
                    text(reject.recipient),
                    text(reject.dsn),
                    text(reject.response),
                    str(reject.line_key),
                    text(reject.queue_id),
                )
            )
        )
    return Prepared(
        messages=_rows(RelayMessage, MESSAGE_COLUMNS, rows.messages),
        recipients=_rows(RelayRecipient, RECIPIENT_COLUMNS, rows.recipients),
        events=_rows(RelayEvent, EVENT_COLUMNS, rows.events),
        rejects=_rows(RejectedAttempt, REJECT_COLUMNS, rejects),
        continuing=continuing,
        unlinked=rows.unlinked,
        credentials_used=rows.credentials_used,
    )


def _rows(model, columns, lines: list[str]) -> Rows:
    joined = "\n".join(lines) + "\n" if lines else ""  # one join: no line copied twice
    return Rows(model=model, columns=columns, text=joined, count=len(lines))


def _owner(draft: MessageDraft, directory: CustomerDirectory):
    return directory.owner_of_message(
        sasl_username=draft.sasl_username,
        recipients=draft.recipients,
        sender="" if draft.sender is None else draft.sender[:320],
        client_ip=draft.client_ip,
        client=draft.client,
    )


def _link_within(fresh: list[MessageDraft], ids: list[int]) -> tuple[dict[int, int], set[int]]:
    """Bounce notifications whose original is in the same batch: {notification index: original index}.

    The rule is `relay.ingest.link_bounces`' (the earliest unlinked message with the notification's queue
    id, received within an hour of the notice). Also returns the originals whose notification was not found
    here: the writer looks for it among the stored messages.
    """
    originals = [index for index, draft in enumerate(fresh) if draft.bounce_queue_id]
    if not originals:
        return {}, set()
    wanted = {(fresh[index].host, fresh[index].bounce_queue_id) for index in originals}
    candidates: dict[tuple[str, str], list[int]] = {}
    for index, draft in enumerate(fresh):
        key = (draft.host, draft.queue_id)
        if key in wanted:
            candidates.setdefault(key, []).append(index)
    bounce_of: dict[int, int] = {}
    unlinked: set[int] = set()
    for index in originals:
        draft = fresh[index]
        at = next((e.at for e in draft.events if e.kind == RelayEvent.Kind.BOUNCE_NOTICE), draft.first_at)
        near = [
            c
            for c in candidates.get((draft.host, draft.bounce_queue_id), ())
            if c not in bounce_of and abs(fresh[c].first_at - at) <= BOUNCE_WINDOW
        ]
        if near:
            bounce_of[min(near, key=lambda c: fresh[c].first_at)] = index
        else:
            unlinked.add(index)
    return bounce_of, unlinked


# ---------------------------------------------------------------------------------------------------------
# Loading


def load(rows: Rows) -> None:
    """Insert the rows: `COPY` on PostgreSQL, else Django's `bulk_create` of the same values."""
    if not rows.count:
        return
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(rows.model._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(c) for c in _db_columns(rows.model, rows.columns))
        statement = f"COPY {table} ({columns}) FROM STDIN"
        with (
            connection.wrap_database_errors,
            connection.cursor() as cursor,
            cursor.cursor.copy(statement) as copy,
        ):
            copy.write(rows.text.encode())
        return
    rows.model.objects.bulk_create(list(_instances(rows)), batch_size=2_000)


def _db_columns(model, attnames: list[str]) -> list[str]:
    by_attname = {f.attname: f.column for f in model._meta.concrete_fields}
    return [by_attname[name] for name in attnames]


def _instances(rows: Rows):
    fields = {f.attname: f for f in rows.model._meta.concrete_fields}
    converters = [fields[name].to_python for name in rows.columns]
    for line in rows.text.split("\n")[:-1]:  # not splitlines(): a value may hold \x85 or \u2028
        values = {}
        for name, convert, raw in zip(rows.columns, converters, line.split("\t"), strict=True):
            values[name] = None if raw == NULL else convert(unescape_copy(raw))
        yield rows.model(**values)
