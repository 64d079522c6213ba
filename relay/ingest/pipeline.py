"""The ingest pipeline: batches parsed and assembled (in two reader processes for a long catch-up),
stored in order by one writer, each in its own transaction.
"""

import contextlib
import copy
import itertools
import multiprocessing
import os
import queue
import threading
from dataclasses import dataclass

from django.db import connection, connections, transaction
from django.utils import timezone

from tenants.garbage import collect_less, fewer_collections

from .. import partitions, rollup
from ..assembler import Assembly, MessageDraft, assemble_lines
from ..copyrows import pack_events
from ..models import IngestState
from ..parser import SyslogClock
from .analyze import analyze_relay_tables, crossed_doubling
from .attribution import CustomerDirectory
from .fastpath import Prepared, prepare
from .lines import decode_lines, lines_before, read_block, skip_lines
from .merge import StoredMessage, link_bounces, move_last_used, new_message, store_assembly
from .result import BATCH_LINES, IngestResult, log_timezone


def ingest_range(state, path, offset, host, directory, clock, batch_lines) -> IngestResult:
    """Store batches of `path` from `offset` up to its present end. For a long catch-up, reading, parsing,
    assembling and preparing happen in child processes where they may be forked (the command, a solo
    worker), else inline; storing overlaps with it in the writer (see `BatchWriter`). At most a few batches
    are in flight, so memory stays flat."""
    writer = BatchWriter(state, directory)
    end = os.path.getsize(path)
    if offset > 0:  # identical lines of the second the last run ended in still count (`LineParser.key`)
        clock.count_repeats(lines_before(path, offset))
    if writer.threaded and _may_fork() and end - offset >= CHILD_READER_MIN_BYTES:
        batches = _batches_from_children(path, offset, end, host, clock, batch_lines)
    else:
        batches = _parsed_batches(path, offset, end, host, clock, batch_lines)
    with fewer_collections(), writer, contextlib.closing(batches):
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
            data, consumed = read_block(log, batch_lines, min(end - offset, batch_bytes or end))
            if not data and batch_bytes and batch_bytes < end - offset:
                data, consumed = read_block(log, batch_lines, end - offset)  # a line longer than a batch
            if not data:
                return
            if number % readers != reader:
                skip_lines(clock, data)  # another reader's batch: only its dates are read
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
    prepared = _prepare(batch.assembly, directory)
    _ensure_partitions(prepared.span, batch.assembly)  # before the transaction: it locks what it creates
    pack_events(prepared.continuing)
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
    collect_less()  # tenants/garbage.py: what the reader inherited from the parent is frozen
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
        if crossed_doubling(before, self.result.lines):
            analyze_relay_tables()


def _store_batch(state: IngestState, batch: Batch, directory: CustomerDirectory) -> IngestResult | None:
    """Store one batch and move the offset, atomically; None if someone else moved the offset meanwhile."""
    if batch.prepared is None and batch.assembly is not None:  # else its reader saw to the partitions
        _ensure_partitions(assembly_span(batch.assembly), batch.assembly)
    with transaction.atomic():
        _relax_commit()
        locked = IngestState.objects.select_for_update().get(pk=state.pk)
        if locked.offset != batch.start:
            return None
        stored = None
        if not batch.conflicted:
            stored = store_prepared(
                batch.prepared or _prepare(batch.assembly, directory), directory=directory
            )
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
    rollup.refresh()
    return result


def _store_lines(lines, host, directory, clock) -> IngestResult:
    with transaction.atomic():
        _relax_commit()
        assembly = assemble_lines(lines, host=host, clock=clock)
        prepared = _prepare(assembly, directory)
        _ensure_partitions(prepared.span, assembly)
        stored = store_prepared(prepared, directory=directory)
        if stored is None:
            stored = store_assembly(assembly, directory=directory)
    stored.lines = len(lines)
    return stored


def _prepare(assembly: Assembly, directory: CustomerDirectory) -> Prepared:
    prepared = prepare(assembly, directory)
    prepared.span = assembly_span(assembly)
    return prepared


def assembly_span(assembly: Assembly) -> tuple | None:
    """The first and last time of a batch's messages and rejects (drafts continuing a stored message
    included: one not found is stored as new, received at its first time)."""
    times = [draft.first_at for draft in assembly.messages] + [reject.at for reject in assembly.rejects]
    return (min(times), max(times)) if times else None


def _ensure_partitions(span, assembly: Assembly) -> None:
    """The day partitions the batch's rows go to (PostgreSQL; `relay.partitions`)."""
    partitions.ensure_span(
        span, exact=lambda: [d.first_at for d in assembly.messages] + [r.at for r in assembly.rejects]
    )


def _relax_commit() -> None:
    """Commit without waiting for the disk. Safe here: a batch's rows and the file offset after it commit
    together, so whatever a database crash might lose is simply read from the log again."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


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
    relinked = []
    if prepared.unlinked:
        relinked = link_bounces(
            [
                (draft, _stored_message(draft, pk, customer_id, direction))
                for draft, pk, customer_id, direction in prepared.unlinked
            ]
        )
    move_last_used(prepared.credentials_used)
    _mark_rollup(prepared, relinked)
    return result


def _mark_rollup(prepared: Prepared, relinked: list[StoredMessage]) -> None:
    """The days whose daily counts the batch changed (the merged drafts mark their own)."""
    rollup.mark_span(prepared.span)
    rollup.mark_times(row.received_at for row in relinked)


def _stored_message(draft: MessageDraft, pk: int, customer_id, direction: str) -> StoredMessage:
    """The fields of a just-stored message that linking bounces reads and writes, as plain attributes (a
    model instance took 23 µs to make, about 0.25 s of the writer's time per run of the varied log)."""
    row = new_message(draft.host, draft.queue_id, draft.first_at)
    row.pk, row.customer_id, row.direction = pk, customer_id, direction
    row.sender = "" if draft.sender is None else draft.sender[:320]
    return row
