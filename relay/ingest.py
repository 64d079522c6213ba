"""Ingest Postfix log files into the relay log: incrementally, idempotently, in bounded batches.

`ingest_file(path, host=...)`:
1. Loads the file's `IngestState` (inode, byte offset after the last whole line read).
2. If the file's inode changed, the log was rotated: the rest of the old file (found beside it by inode,
   e.g. `maillog.1`) is read first from the stored offset, then the new file from the start. If the file
   shrank under the same inode (copytruncate), it is read from the start.
3. Reads whole lines up to the file's present end in batches (`BATCH_LINES`, and for a long catch-up also
   by size, so each reader gets several). Each batch is assembled in one pass (`assemble_lines`) and
   prepared (`relay.prepare`): its new messages become `COPY` text, what continues earlier messages is set
   aside. Memory stays flat: only a few batches are ever in flight.
4. Storing: the new messages stream in with `COPY`; the writer then merges the continuing drafts with what
   is stored and moves the offset, batch by batch in order, each in one transaction. For a long catch-up
   two reader processes parse alternate batches and commit their new messages themselves, side by side;
   should the writer's part never commit, re-reading the batch merges those rows as the duplicates they
   are. Either way a crash never loses or doubles anything.

`store_assembly(assembly, directory=...)` is the careful merge: messages are matched to those already
stored (by host, queue id and receipt time, or the latest still-open one with that queue id), new rows go
in with bulk inserts, events and rejects are deduplicated by the hash of their log line (`ignore_conflicts`),
so re-ingesting the same lines adds nothing. The fast path falls back to it whenever its rows conflict.
"""

import contextlib
import copy
import functools
import gc
import glob
import itertools
import multiprocessing
import os
import queue
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from .assembler import Assembly, MessageDraft, RecipientDraft, assemble_lines
from .attribution import CustomerDirectory
from .bulk import copy_rows, create_with_ids, update_rows
from .models import (
    FINAL_STATUSES,
    IngestState,
    RejectedAttempt,
    RelayCredential,
    RelayEvent,
    RelayMessage,
    RelayRecipient,
    Status,
    worst_status,
)
from .parser import Kind, SyslogClock
from .prepare import BOUNCE_WINDOW, EVENT_COLUMNS, RECIPIENT_COLUMNS, REJECT_COLUMNS, Prepared, prepare

BATCH_LINES = 100_000
BULK_SIZE = 2_000
# A message stays in Postfix's queue at most `maximal_queue_lifetime` (5 days by default); a queue id seen
# again after longer than this is a new message.
QUEUE_LIFETIME = timedelta(days=7)


@dataclass
class IngestResult:
    lines: int = 0
    messages: int = 0
    rejects: int = 0

    def add(self, other: "IngestResult") -> None:
        self.lines += other.lines
        self.messages += other.messages
        self.rejects += other.rejects


def log_timezone():
    return ZoneInfo(settings.RELAY_LOG_TIMEZONE)


# ---------------------------------------------------------------------------------------------------------
# Reading files


def ingest_file(path: str, *, host: str | None = None, batch_lines: int = BATCH_LINES) -> IngestResult:
    """Read what is new in `path` (following rotation) and store it. `host` defaults to the log's own."""
    state, _created = IngestState.objects.get_or_create(host=host or "", path=os.path.abspath(path))
    result = IngestResult()
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return result
    directory = CustomerDirectory()
    clock = SyslogClock(tz=log_timezone())
    if state.inode and state.inode != stat.st_ino:
        rotated = find_rotated(path, state.inode)
        if rotated is not None:
            result.add(_ingest_from(state, rotated, state.offset, host, directory, clock, batch_lines))
        _move_state(state, inode=stat.st_ino, offset=0)
    elif state.offset > stat.st_size:
        _move_state(state, inode=stat.st_ino, offset=0)  # truncated in place
    elif not state.inode:
        _move_state(state, inode=stat.st_ino, offset=state.offset)
    result.add(_ingest_from(state, path, state.offset, host, directory, clock, batch_lines))
    return result


def find_rotated(path: str, inode: int) -> str | None:
    """The rotated predecessor of `path` (same directory, name starting with it) that has `inode`."""
    for candidate in sorted(glob.glob(glob.escape(path) + "?*")):
        try:
            if os.stat(candidate).st_ino == inode and not candidate.endswith((".gz", ".xz", ".bz2", ".zst")):
                return candidate
        except OSError:
            continue
    return None


def _move_state(state: IngestState, *, inode: int, offset: int) -> None:
    state.inode, state.offset, state.updated_at = inode, offset, timezone.now()
    state.save(update_fields=["inode", "offset", "updated_at"])


def _ingest_from(state, path, offset, host, directory, clock, batch_lines) -> IngestResult:
    """Store batches of `path` from `offset` up to its present end. For a long catch-up, reading, parsing,
    assembling and preparing happen in child processes where they may be forked (the command, a solo
    worker), else inline; storing overlaps with it in the writer (see `BatchWriter`). At most a few batches
    are in flight, so memory stays flat."""
    writer = BatchWriter(state, directory)
    end = os.path.getsize(path)
    if writer.threaded and _may_fork() and end - offset >= CHILD_READER_MIN_BYTES:
        batches = _batches_from_children(path, offset, end, host, clock, batch_lines)
    else:
        batches = _parsed_batches(path, offset, end, host, clock, batch_lines)
    with writer, contextlib.closing(batches):
        for batch in batches:
            if writer.stopped:
                break
            writer.put(batch)
    return writer.result


def _parsed_batches(
    path, offset, end, host, clock, batch_lines, directory=None, *, reader=0, readers=1, batch_bytes=None
):
    """Batches of the file between `offset` and `end`.

    Given a directory (a reader process), a batch is also prepared and its new messages stored (see
    `_store_in_reader`), else the writer does both. With several
    readers, reader `i` parses batches i, i + readers, ... and only reads past the others, keeping the
    year of syslog timestamps as parsing them would have: every reader cuts the same batches, since `end`
    is fixed when the run begins."""
    with open(path, "rb") as log:
        log.seek(offset)
        for number in itertools.count():
            data, consumed = _read_block(log, batch_lines, min(end - offset, batch_bytes or end))
            if not data and batch_bytes and batch_bytes < end - offset:
                data, consumed = _read_block(log, batch_lines, end - offset)  # a line longer than a batch
            if not data:
                return
            if number % readers != reader:
                clock.skip(data.split(b"\n"))  # another reader's batch: only its dates are read
                offset += consumed
                continue
            lines = decode_lines(data)
            start_clock = copy.copy(clock)
            assembly = assemble_lines(lines, host=host, clock=clock)
            batch = Batch(
                prepared=None,
                assembly=assembly,
                path=path,
                host=host,
                clock=start_clock,
                start=offset,
                end=offset + consumed,
                lines=len(lines),
            )
            if directory is not None:
                _store_in_reader(batch, directory)
            yield batch
            offset += consumed


def _store_in_reader(batch: "Batch", directory: CustomerDirectory) -> None:
    """A reader process prepares its batch and commits the new messages itself, so that several readers'
    inserts run side by side in PostgreSQL; the writer then merges what continues earlier messages and
    moves the offset, batch by batch in order. Should the writer's part never commit (a crash), the batch is
    read again and its new messages, already there, are merged as the duplicates they are: nothing changes.
    """
    prepared = prepare(batch.assembly, directory)
    if connection.vendor != "postgresql":
        batch.prepared = prepared  # SQLite takes one writer at a time: the writer stores it all
    else:
        with transaction.atomic():
            _relax_commit()
            if prepared.load():
                batch.prepared = prepared
            else:
                batch.conflicted = True
    batch.assembly = None  # read again should the writer need it; only the rest travels to the parent


CHILD_READER_MIN_BYTES = 4_000_000  # about 30,000 lines: below that a fork costs more than it saves
# Parsing is the most work of an ingest; two readers keep up with one writer and PostgreSQL.
READERS = 2
BATCH_BYTES_MIN, BATCH_BYTES_MAX = 1 << 20, 16 << 20
BATCHES_PER_READER = 4


def _may_fork() -> bool:
    """A daemonic process (a Celery prefork child) may not have children; nor is fork everywhere."""
    return not multiprocessing.current_process().daemon and "fork" in multiprocessing.get_all_start_methods()


def _parse_in_child(out, path, offset, end, host, clock, batch_lines, reader, readers, batch_bytes) -> None:
    """A reader process: its own database connection (for ids, whose-is-what lookups and its inserts) and
    directory. Only what is left to merge travels to the parent: the assembly can be read again."""
    _fresh_database_connections()
    # A batch makes a few hundred thousand objects and no garbage cycles to speak of: what the process
    # holds from the start is frozen out of collections, and the youngest generation is collected a
    # hundredth as often (the collector's walks over the batch were about a twentieth of a reader's time).
    gc.freeze()
    gc.set_threshold(70_000, 20, 100)
    try:
        batches = _parsed_batches(
            path,
            offset,
            end,
            host,
            clock,
            batch_lines,
            CustomerDirectory(),
            reader=reader,
            readers=readers,
            batch_bytes=batch_bytes,
        )
        for batch in batches:
            out.put(batch)
        out.put(None)
    except BaseException as error:  # reported to the parent, which raises it
        out.put(RuntimeError(f"relay log reader failed: {error!r}"))
    finally:
        connection.close()


_INHERITED_CONNECTIONS: list = []


def _fresh_database_connections() -> None:
    """In a forked reader: set aside the connection objects inherited from the parent and start new ones.

    The inherited ones are never closed, nor let go of (collecting one closes it): closing sends the server
    a goodbye on the parent's socket and ends the parent's session. Whatever the parent did before forking
    (a closed connection, one held in an event loop's context), the reader talks on sockets of its own.
    """
    for alias in connections:
        _INHERITED_CONNECTIONS.append(connections[alias])
        connections[alias] = connections.create_connection(alias)


def _batches_from_children(path, offset, end, host, clock, batch_lines, readers=None):
    """The batches in order, taken in turn from `readers` child processes.

    Batches end at `batch_lines` lines or at a size that gives every reader four or more of them, whichever
    comes first: with a few large batches, readers would wait for the writer at the start of a run and for
    each other at its end."""
    readers = readers or READERS
    batch_bytes = min(BATCH_BYTES_MAX, max(BATCH_BYTES_MIN, (end - offset) // (readers * BATCHES_PER_READER)))
    context = multiprocessing.get_context("fork")
    queues = [context.Queue(maxsize=2) for _ in range(readers)]
    connection.close()  # each child opens its own: a connection must never be shared across a fork
    children = [
        context.Process(
            target=_parse_in_child,
            args=(queues[i], path, offset, end, host, clock, batch_lines, i, readers, batch_bytes),
            name=f"relay-ingest-reader-{i}",
            daemon=True,
        )
        for i in range(readers)
    ]
    for child in children:
        child.start()
    try:
        for turn in itertools.cycle(range(readers)):
            item = _take(queues[turn], children[turn])
            if item is None:
                return
            yield item
    finally:
        for child, out in zip(children, queues, strict=True):
            if child.is_alive():
                child.terminate()
            child.join()
            out.close()


def _take(out, child):
    while True:
        try:
            item = out.get(timeout=1)
        except queue.Empty:
            if not child.is_alive():
                raise RuntimeError("a relay log reader process died") from None
            continue
        if isinstance(item, BaseException):
            raise item
        return item


@dataclass
class Batch:
    prepared: Prepared | None  # None: the writer prepares it
    assembly: Assembly | None  # None when prepared in the child process: `reassemble` reads it again
    path: str
    host: str | None
    clock: SyslogClock  # as it was before the batch's first line
    start: int
    end: int
    lines: int
    conflicted: bool = False  # a reader's rows clashed with stored ones: the writer merges the whole batch

    def reassemble(self) -> Assembly:
        if self.assembly is not None:
            return self.assembly
        with open(self.path, "rb") as log:
            log.seek(self.start)
            lines = decode_lines(log.read(self.end - self.start))
        return assemble_lines(lines, host=self.host, clock=copy.copy(self.clock))


class BatchWriter:
    """Stores batches in order, each in its own transaction with the new offset.

    Outside a transaction (the Celery task, the command) it writes from a second thread with its own
    database connection, so reading the next batch overlaps with PostgreSQL storing this one. Inside a
    transaction (tests) it writes inline.
    """

    def __init__(self, state: IngestState, directory: CustomerDirectory):
        self.state, self.directory = state, directory
        self.result = IngestResult()
        self.stopped = False  # someone else moved the offset: stop reading
        self.error: BaseException | None = None
        self.threaded = not transaction.get_connection().in_atomic_block
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.thread = threading.Thread(target=self._run, name="relay-ingest-writer", daemon=True)

    def __enter__(self):
        if self.threaded:
            self.thread.start()
        return self

    def put(self, batch: Batch) -> None:
        if not self.threaded:
            self._store(batch)
            return
        self.queue.put(batch)
        self._raise()

    def __exit__(self, *exc_info):
        if self.threaded:
            self.queue.put(None)
            self.thread.join()
        if exc_info[0] is None:
            self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            while (batch := self.queue.get()) is not None:
                if not self.stopped and self.error is None:
                    self._store(batch)
        except BaseException as error:  # handed to the reading thread, which raises it
            self.error = error
            self.stopped = True
            while self.queue.get() is not None:
                pass
        finally:
            connection.close()

    def _store(self, batch: Batch) -> None:
        stored = _store_batch(self.state, batch, self.directory)
        if stored is None:
            self.stopped = True
            return
        before = self.result.lines
        self.result.add(stored)
        if _crossed_doubling(before, self.result.lines):
            analyze_relay_tables()


ANALYZE_FROM_LINES = 20_000


def _crossed_doubling(before: int, after: int) -> bool:
    """True at 20k, 80k, 320k, ... lines into one run: a long catch-up refreshes planner statistics as the
    tables grow fourfold (the periodic small runs leave that to autovacuum)."""
    mark = ANALYZE_FROM_LINES
    while mark <= after:
        if before < mark:
            return True
        mark *= 4
    return False


# The columns ingest's own queries pick messages by. A small sample is enough: what the planner must learn
# is that queue ids are all but unique, which PostgreSQL keeps as a fraction of the rows, so it stays true as
# the table grows; a full ANALYZE of every column took ten times as long, each time.
ANALYZED_COLUMNS = ("queue_id", "host", "bounce_queue_id")
ANALYZE_SAMPLE_TARGET = 10  # PostgreSQL samples 300 rows per unit: 3,000 rows


def analyze_relay_tables() -> None:
    if connection.vendor != "postgresql":
        return
    # Only the messages: they are matched by queue id. Recipients and events are only ever reached through
    # the message's id, in indexes that start with it.
    quote = connection.ops.quote_name
    columns = ", ".join(quote(RelayMessage._meta.get_field(name).column) for name in ANALYZED_COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL default_statistics_target = {ANALYZE_SAMPLE_TARGET}")
        try:
            cursor.execute(f"ANALYZE {quote(RelayMessage._meta.db_table)} ({columns})")
        finally:  # within an outer transaction, SET LOCAL would otherwise last until it ends
            cursor.execute("SET LOCAL default_statistics_target TO DEFAULT")


READ_CHUNK = 1 << 20


def _read_batch(log, batch_lines: int, limit: int) -> tuple[list[str], int]:
    """Up to `batch_lines` whole lines (decoded, without their newline) within `limit` bytes, read a megabyte
    at a time, and the bytes they took; a last line without newline is left (the file is positioned before
    it) for the next run."""
    data, consumed = _read_block(log, batch_lines, limit)
    return decode_lines(data), consumed


def _read_block(log, batch_lines: int, limit: int) -> tuple[bytes, int]:
    """`_read_batch`'s lines as the bytes they are in the file, each with its newline; and their length."""
    whole: list[bytes] = []  # blocks of whole lines, each ending with its newline
    count = consumed = 0
    tail = b""
    while count < batch_lines and consumed + len(tail) < limit:
        chunk = log.read(min(READ_CHUNK, limit - consumed - len(tail)))
        if not chunk:
            break
        block = tail + chunk
        cut = block.rfind(b"\n") + 1
        found = block.count(b"\n", 0, cut)
        if count + found > batch_lines:  # the batch ends inside this block: after its n-th newline
            cut = 0
            for _ in range(batch_lines - count):
                cut = block.index(b"\n", cut) + 1
            found = batch_lines - count
        whole.append(block[:cut])
        tail = block[cut:]
        count += found
        consumed += cut
    log.seek(-len(tail), os.SEEK_CUR)
    return b"".join(whole), consumed


def decode_lines(data: bytes) -> list[str]:
    """The lines of whole-line bytes, decoded at once (leniently: a broken byte becomes U+FFFD, as decoding
    each line alone would make it). Split on newlines only, as Postfix ends its lines."""
    lines = data.decode("utf-8", "replace").split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def _store_batch(state: IngestState, batch: Batch, directory: CustomerDirectory) -> IngestResult | None:
    """Store one batch and move the offset, atomically; None if someone else moved the offset meanwhile."""
    with transaction.atomic():
        _relax_commit()
        locked = IngestState.objects.select_for_update().get(pk=state.pk)
        if locked.offset != batch.start:
            return None
        stored = None
        if not batch.conflicted:
            stored = store_prepared(batch.prepared or prepare(batch.assembly, directory), directory=directory)
        if stored is None:
            stored = store_assembly(batch.reassemble(), directory=directory)
        locked.offset, locked.lines, locked.updated_at = batch.end, locked.lines + batch.lines, timezone.now()
        locked.save(update_fields=["offset", "lines", "updated_at"])
        state.offset = batch.end
    stored.lines = batch.lines
    return stored


def ingest_lines(
    lines, *, host: str | None = None, directory: CustomerDirectory | None = None
) -> IngestResult:
    """Store lines given directly (tests, pipes); no offset is kept: idempotence comes from the line keys."""
    clock = SyslogClock(tz=log_timezone())
    directory = directory or CustomerDirectory()
    result = IngestResult()
    batch: list = []
    for line in lines:
        batch.append(line)
        if len(batch) >= BATCH_LINES:
            result.add(_store_lines(batch, host, directory, clock))
            batch = []
    if batch:
        result.add(_store_lines(batch, host, directory, clock))
    return result


def _store_lines(lines, host, directory, clock) -> IngestResult:
    with transaction.atomic():
        _relax_commit()
        assembly = assemble_lines(lines, host=host, clock=clock)
        stored = store_prepared(prepare(assembly, directory), directory=directory)
        if stored is None:
            stored = store_assembly(assembly, directory=directory)
    stored.lines = len(lines)
    return stored


def _relax_commit() -> None:
    """Commit without waiting for the disk. Safe here: a batch's rows and the file offset after it commit
    together, so whatever a database crash might lose is simply read from the log again."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


# ---------------------------------------------------------------------------------------------------------
# Storing a batch: the fast path


def store_prepared(prepared: Prepared, *, directory: CustomerDirectory) -> IngestResult | None:
    """Store a prepared batch (call inside a transaction): stream the new messages in (unless a reader did),
    merge the drafts that continue stored ones, link bounces across batches. None, with nothing changed, if
    the new rows conflict with stored ones (lines ingested before): the caller then merges the whole batch
    with `store_assembly`."""
    if not prepared.loaded and not prepared.load():
        return None
    result = IngestResult(messages=prepared.messages.count, rejects=prepared.rejects.count)
    if prepared.continuing:
        result.add(store_assembly(Assembly(messages=prepared.continuing, rejects=[]), directory=directory))
    if prepared.unlinked:
        _link_bounces(
            [
                (draft, _stored_message(draft, pk, customer_id, direction))
                for draft, pk, customer_id, direction in prepared.unlinked
            ]
        )
    _move_last_used(prepared.credentials_used)
    return result


def _stored_message(draft: MessageDraft, pk: int, customer_id, direction: str) -> RelayMessage:
    """The fields of a just-stored message that linking bounces reads and writes."""
    return RelayMessage(
        pk=pk,
        host=draft.host,
        queue_id=draft.queue_id,
        received_at=draft.first_at,
        sender="" if draft.sender is None else draft.sender[:320],
        customer_id=customer_id,
        direction=direction,
    )


# ---------------------------------------------------------------------------------------------------------
# Storing a batch: merging with what is stored


def store_assembly(assembly: Assembly, *, directory: CustomerDirectory) -> IngestResult:
    """Merge one batch of drafts into the database (call inside a transaction)."""
    usernames, domains = CustomerDirectory.wanted(assembly.messages, assembly.rejects)
    directory.prefetch(usernames=usernames, domains=domains)
    pairs = _match_existing(assembly.messages)
    existing_recipients = _existing_recipients([row for _d, row in pairs if row is not None])
    new_rows, changed_rows = [], []
    spilled: list[tuple[RelayMessage, object]] = []  # attempts that recipients no longer stand for, as events
    now = timezone.now()
    for draft, row in pairs:
        recipients = existing_recipients.get(row.pk, {}) if row is not None else {}
        if row is None:
            row = _new_message(draft.host, draft.queue_id, draft.first_at)
            new_rows.append((draft, row))
        else:
            changed_rows.append((draft, row))
        _merge_message(row, draft, recipients, directory, now, spilled)
    create_with_ids([row for _d, row in new_rows])
    if changed_rows:
        update_rows([row for _d, row in changed_rows], MERGED_FIELDS)
    _store_recipients(new_rows, changed_rows, existing_recipients)
    _store_events(new_rows + changed_rows, spilled)
    _link_bounces(new_rows + changed_rows)
    _touch_credentials(new_rows + changed_rows)
    rejects = _store_rejects(assembly, directory)
    return IngestResult(messages=len(new_rows), rejects=rejects)


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


def _match_existing(drafts: list[MessageDraft]) -> list[tuple[MessageDraft, RelayMessage | None]]:
    """Pair each draft with the stored message it continues (or re-ingests), or None for a new message."""
    by_host: dict[str, list[MessageDraft]] = defaultdict(list)
    for draft in drafts:
        by_host[draft.host].append(draft)
    known: dict[tuple[str, str], list[RelayMessage]] = defaultdict(list)
    for host, host_drafts in by_host.items():
        earliest = min(d.first_at for d in host_drafts) - QUEUE_LIFETIME
        # Only host and queue id in SQL: the unique index (host, queue_id, received_at) answers that whatever
        # the table's statistics say; a time range there can tempt the planner into scanning a whole week.
        rows = RelayMessage.objects.filter(host=host, queue_id__in={d.queue_id for d in host_drafts})
        for row in sorted(rows, key=lambda r: r.received_at):
            if row.received_at >= earliest:
                known[(host, row.queue_id)].append(row)
    return [(draft, _pick(draft, known.get((draft.host, draft.queue_id), []))) for draft in drafts]


def _pick(draft: MessageDraft, rows: list[RelayMessage]) -> RelayMessage | None:
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


def _existing_recipients(rows: list[RelayMessage]) -> dict[int, dict[tuple[str, str], RelayRecipient]]:
    found: dict[int, dict[tuple[str, str], RelayRecipient]] = defaultdict(dict)
    if rows:
        for recipient in RelayRecipient.objects.filter(message__in=[row.pk for row in rows]):
            found[recipient.message_id][(recipient.address, recipient.orig_to)] = recipient
    return found


@functools.cache
def _message_defaults() -> tuple[list, int]:
    """Every concrete field's default in order, and where `host` is (then `queue_id`, `received_at`)."""
    fields = RelayMessage._meta.concrete_fields
    names = [field.attname for field in fields]
    assert names[names.index("host") : names.index("host") + 3] == ["host", "queue_id", "received_at"]
    return [field.get_default() for field in fields], names.index("host")


def _new_message(host: str, queue_id: str, received_at) -> RelayMessage:
    """A new, unsaved message. Positional arguments take Django's fast path: no default looked up per field,
    which adds up over tens of thousands of messages a batch."""
    values, at = _message_defaults()
    values = values.copy()
    values[at : at + 3] = host, queue_id, received_at
    return RelayMessage(*values)


def _merge_message(
    row: RelayMessage, draft: MessageDraft, recipients: dict, directory: CustomerDirectory, now, spilled: list
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


def _fold(existing: RelayRecipient, draft: RecipientDraft, spill) -> None:
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
    fresh = [_recipient_row(row.pk, r) for draft, row in new_pairs for r in draft.recipients.values()]
    copy_rows(RelayRecipient, RECIPIENT_COLUMNS, fresh)
    new, changed = [], []
    for draft, row in changed_pairs:
        known = stored.get(row.pk, {})
        new.extend(_recipient_row(row.pk, r) for key, r in draft.recipients.items() if key not in known)
        changed.extend(r for r in known.values() if getattr(r, "_changed", False))
    copy_rows(RelayRecipient, RECIPIENT_COLUMNS, new, ignore_conflicts=True)
    if changed:
        update_rows(changed, ["status", "dsn", "relay", "delay", "response", "at", "line_key"])


def _recipient_row(message_pk: int, r: RecipientDraft) -> tuple:
    return (message_pk, r.address, r.orig_to, r.status, r.dsn, r.relay, r.delay, r.response, r.at, r.line_key)


def _store_events(pairs, spilled=()) -> None:
    events = [(row, e) for draft, row in pairs for e in draft.events]
    events += spilled
    rows = [
        (row.pk, e.at, e.kind, e.recipient, e.status, e.dsn, e.relay, e.delay, e.response, e.line_key)
        for row, e in events
    ]
    copy_rows(RelayEvent, EVENT_COLUMNS, rows, ignore_conflicts=True)


def _link_bounces(pairs) -> None:
    """Link bounce notifications (`sender non-delivery notification: NEWID`) to the message that caused them.

    Either side may be in this batch: the original with its notice, or the notification message (null sender).
    Two queries at most, however many bounces the batch holds.
    """
    null_senders = {row.pk: row for _d, row in pairs if row.sender == "" and row.bounce_of_id is None}
    changed: dict[int, RelayMessage] = {}
    notices = []
    for draft, row in pairs:
        if draft.bounce_queue_id:
            at = next((e.at for e in draft.events if e.kind == RelayEvent.Kind.BOUNCE_NOTICE), draft.first_at)
            notices.append((row, draft.bounce_queue_id, at))
    if notices:
        candidates = defaultdict(list)
        rows = RelayMessage.objects.filter(
            host__in={row.host for row, _q, _at in notices},
            queue_id__in={qid for _row, qid, _at in notices},
            bounce_of__isnull=True,
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
        rows = RelayMessage.objects.filter(
            host__in={r.host for r in orphans}, bounce_queue_id__in={r.queue_id for r in orphans}
        ).exclude(bounce_queue_id="")  # the very condition of the partial index relaymsg_bounce_qid
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
        update_rows(list(changed.values()), ["bounce_of_id", "customer_id", "direction"])


def _set_bounce_of(notification: RelayMessage, original: RelayMessage) -> None:
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
    _move_last_used(latest)


def _move_last_used(latest: dict) -> None:
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
