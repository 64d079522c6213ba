"""The relay log's tables partitioned by day on PostgreSQL, so that retention drops whole days.

On PostgreSQL the four tables the nightly purge empties are declaratively partitioned (`PARTITION BY RANGE`)
on their time: messages, their recipients and their events on the message's receipt time (recipients and
events carry a copy of it, `received_at`), rejected attempts on their own time. One partition per UTC day,
named `<table>_pYYYYMMDD`. Day partitions are created ahead by the nightly task (`ensure_ahead`) and at
ingest for every day a batch holds, however old (`ensure_span`, before the batch's transaction); retention
drops the day partitions older than the cutoff (`drop_before`), which costs the same at any size, where
deleting a day's rows took minutes at ten million recipients.

There is no DEFAULT partition. With one, PostgreSQL cannot read the partitions in time order, and every
page of a customer's relay log (newest first, 50 rows) opened an index of every day's partition instead of
the newest one or two: on a loaded machine that doubled the page's time. Every path that stores rows makes
their days' partitions first instead (a batch's days from its first to its last time).

The primary keys are (id, partition key) and every unique constraint holds the partition key, as PostgreSQL
requires; ids still come from one sequence per table, so Django keeps addressing a row by its id. Each
partition gets the parent's extended planner statistics. SQLite (the embedded set-up and the fast tests)
keeps plain tables: everything here does nothing there and the purge deletes rows instead.
"""

import threading
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction

# Table -> the column it is partitioned on. Children (recipients, events) are dropped with their messages:
# they are partitioned on the message's receipt time.
PARTITIONED = {
    "relay_relaymessage": "received_at",
    "relay_relayrecipient": "received_at",
    "relay_relayevent": "received_at",
    "relay_rejectedattempt": "at",
}
# Created ahead by the nightly task: today and the next days, so the ingest rarely has to.
DAYS_AHEAD = 3
# A batch whose times span more days than this (a log with a stray line from long ago) has its days
# counted one by one (`exact`) instead of every day in between being made.
MAX_DAYS_PER_SPAN = 62

_known: set[str] = set()  # partitions this process knows to exist (checked once, then trusted)
_known_lock = threading.Lock()
_ADVISORY_KEY = 0x7265_6C61_7970  # "relayp": one creator of partitions at a time


def is_partitioned() -> bool:
    return connection.vendor == "postgresql"


def partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def days_between(first: datetime, last: datetime) -> list[date]:
    start, end = utc_day(first), utc_day(last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def ensure_span(span: tuple[datetime, datetime] | None, exact=None) -> None:
    """Make sure a day partition exists for every UTC day from the first to the last of an ingest batch's
    times (`span`, None for none); should they span more than `MAX_DAYS_PER_SPAN` days, for the days of the
    times `exact()` gives.

    Call it outside the batch's transaction where there is one of its own: creating a partition locks the
    parent table until commit."""
    if span is None or not is_partitioned():
        return
    days = days_between(*span)
    if len(days) > MAX_DAYS_PER_SPAN and exact is not None:
        days = sorted({utc_day(at) for at in set(exact())})
    ensure_days(days)


def ensure_for_row(sender, instance, **_kwargs) -> None:
    """pre_save of the partitioned models: a row saved one at a time (the admin, the demo data, a test)
    finds its day's partition, as the ingest's batches do (`ensure_span`). Cheap once the day is known."""
    if not is_partitioned():
        return
    at = getattr(instance, PARTITIONED[sender._meta.db_table], None)
    if at is not None:
        ensure_days([utc_day(at)])


def ensure_ahead(today: date | None = None, ahead: int = DAYS_AHEAD) -> list[str]:
    """The nightly task's part: partitions for today and the next `ahead` days. Returns those it created."""
    if not is_partitioned():
        return []
    today = today or utc_day(datetime.now(UTC))
    return ensure_days([today + timedelta(days=i) for i in range(ahead + 1)])


def ensure_days(days) -> list[str]:
    """Create the missing day partitions of every partitioned table for `days`. Returns the names created."""
    if not is_partitioned():
        return []
    if not _known:
        _load_known()
    # A day the purge may have dropped meanwhile (in another process) is always checked.
    trusted = utc_day(datetime.now(UTC)) - timedelta(days=settings.RELAY_LOG_RETENTION_DAYS - 1)
    wanted = [
        (table, day)
        for day in days
        for table in PARTITIONED
        if day < trusted or partition_name(table, day) not in _known
    ]
    if not wanted:
        return []
    created = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_KEY])
        existing = _existing(cursor)
        for table, day in wanted:
            name = partition_name(table, day)
            if name not in existing:
                _create(cursor, table, day)
                created.append(name)
    # Trusted once committed: a partition made in a transaction that rolls back is gone again.
    names = [partition_name(table, day) for table, day in wanted]
    transaction.on_commit(lambda: _remember(names))
    return created


def _remember(names) -> None:
    with _known_lock:
        _known.update(names)


def forget_known() -> None:
    """Forget the partitions this process has seen (after dropping some, or in tests)."""
    with _known_lock:
        _known.clear()


def _load_known() -> None:
    with connection.cursor() as cursor:
        names = _existing(cursor)
    transaction.on_commit(lambda: _remember(names))  # at once outside a transaction


def _existing(cursor) -> set[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ANY(%s)",
        [list(PARTITIONED)],
    )
    return {name for (name,) in cursor.fetchall()}


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _create(cursor, table: str, day: date) -> None:
    start, end = day_bounds(day)
    # Identifiers are ours (table names and dates), quoted; the bounds are literals PostgreSQL requires.
    cursor.execute(
        f"CREATE TABLE {_q(partition_name(table, day))} PARTITION OF {_q(table)} "
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )
    _copy_statistics(cursor, table, partition_name(table, day))


def _copy_statistics(cursor, table: str, partition: str) -> None:
    """The parent's extended planner statistics (relay migration 0007: a credential decides the customer),
    made for a partition too: the planner plans each partition's scan with that partition's statistics."""
    cursor.execute(
        "SELECT stxname, pg_get_statisticsobjdef(oid) FROM pg_statistic_ext WHERE stxrelid = %s::regclass",
        [table],
    )
    for name, definition in cursor.fetchall():
        suffix = partition.removeprefix(table)
        head, _from, _table = definition.rpartition(" FROM ")
        head = head.replace(f".{name} ", f".{name}{suffix} ", 1).replace(f" {name} ", f" {name}{suffix} ", 1)
        cursor.execute(
            f"{head.replace('CREATE STATISTICS ', 'CREATE STATISTICS IF NOT EXISTS ', 1)} FROM {_q(partition)}"
        )


def ensure_statistics() -> None:
    """Give every partition the parent's extended statistics (those made before partitions copied them)."""
    if not is_partitioned():
        return
    with connection.cursor() as cursor:
        for table in PARTITIONED:
            for _day, name in day_partitions(table):
                _copy_statistics(cursor, table, name)


def day_partitions(table: str) -> list[tuple[date, str]]:
    """The day partitions of `table`, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [table],
        )
        names = [name for (name,) in cursor.fetchall()]
    prefix = f"{table}_p"
    found = []
    for name in names:
        suffix = name.removeprefix(prefix)
        if name.startswith(prefix) and suffix.isdigit() and len(suffix) == 8:
            found.append((datetime.strptime(suffix, "%Y%m%d").date(), name))  # noqa: DTZ007 (a date)
    return sorted(found)


def drop_before(cutoff: date) -> dict[str, int]:
    """Drop every day partition of a day before `cutoff` (UTC). Returns the rows dropped per table (counted
    from the partitions before dropping them)."""
    dropped = {table: 0 for table in PARTITIONED}
    # Children first: no row of theirs ever outlives its message's partition.
    for table in ("relay_relayevent", "relay_relayrecipient", "relay_relaymessage", "relay_rejectedattempt"):
        for day, name in day_partitions(table):
            if day >= cutoff:
                break
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM {_q(name)}")  # noqa: S608
                dropped[table] += cursor.fetchone()[0]
                # The parent is locked only for the moment the partition's files are unlinked.
                cursor.execute(f"DROP TABLE {_q(name)}")
    forget_known()
    return dropped


# ---------------------------------------------------------------------------------------------------------
# The migration that turns the plain tables into partitioned ones (PostgreSQL only)


def convert_to_partitioned(schema_editor, model, key: str) -> None:
    """Replace `model`'s plain table by a table partitioned by day on `key`, with the same rows, columns,
    id sequence, indexes and constraints (by Django's names). Run by a migration, on PostgreSQL only."""
    _rebuild(schema_editor, model, key, partitioned=True)


def convert_to_plain(schema_editor, model, key: str) -> None:
    """The reverse: one plain table again, keyed by its id alone (the migration's way back)."""
    _rebuild(schema_editor, model, key, partitioned=False)


def _rebuild(schema_editor, model, key: str, *, partitioned: bool) -> None:
    table = model._meta.db_table
    new = f"{table}__rebuilt"
    sequence = f"{table}_id_seq"
    cursor = schema_editor.connection.cursor()
    cursor.execute(f"SELECT COALESCE(max(id), 0) FROM {_q(table)}")  # noqa: S608
    (largest,) = cursor.fetchone()
    partitioning = f" PARTITION BY RANGE ({_q(key)})" if partitioned else ""
    cursor.execute(f"CREATE TABLE {_q(new)} (LIKE {_q(table)} INCLUDING DEFAULTS){partitioning}")
    cursor.execute(f"ALTER TABLE {_q(new)} ALTER COLUMN id DROP DEFAULT")  # the old table's sequence
    cursor.execute(f"CREATE SEQUENCE {_q(sequence + '_new')} START WITH {int(largest) + 1}")
    if partitioned:
        cursor.execute(
            f"SELECT DISTINCT ({_q(key)} AT TIME ZONE 'UTC')::date FROM {_q(table)} ORDER BY 1"  # noqa: S608
        )
        for (day,) in cursor.fetchall():
            start, end = day_bounds(day)
            cursor.execute(
                f"CREATE TABLE {_q(partition_name(table, day) + '__new')} PARTITION OF {_q(new)} "
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
            )
    cursor.execute(f"INSERT INTO {_q(new)} SELECT * FROM {_q(table)}")  # noqa: S608
    cursor.execute(
        "SELECT pg_get_statisticsobjdef(oid) FROM pg_statistic_ext WHERE stxrelid = %s::regclass", [table]
    )
    statistics = [definition for (definition,) in cursor.fetchall()]  # planner statistics (relay 0007)
    # With its partitions, indexes, constraints, statistics and id sequence.
    cursor.execute(f"DROP TABLE {_q(table)}")
    cursor.execute(f"DROP SEQUENCE IF EXISTS {_q(sequence)}")
    cursor.execute(f"ALTER TABLE {_q(new)} RENAME TO {_q(table)}")
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
        [table],
    )
    for (name,) in cursor.fetchall():
        cursor.execute(f"ALTER TABLE {_q(name)} RENAME TO {_q(name.removesuffix('__new'))}")
    cursor.execute(f"ALTER SEQUENCE {_q(sequence + '_new')} RENAME TO {_q(sequence)}")
    cursor.execute(f"ALTER SEQUENCE {_q(sequence)} OWNED BY {_q(table)}.id")
    cursor.execute(f"ALTER TABLE {_q(table)} ALTER COLUMN id SET DEFAULT nextval('{sequence}'::regclass)")
    primary_key = f"id, {_q(key)}" if partitioned else "id"
    cursor.execute(
        f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(table + '_pkey')} PRIMARY KEY ({primary_key})"
    )
    for constraint in model._meta.constraints:
        schema_editor.add_constraint(model, constraint)
    for field in model._meta.local_fields:
        if field.unique and not field.primary_key:
            schema_editor.execute(schema_editor._create_unique_sql(model, [field]))
    for statement in schema_editor._model_indexes_sql(model):  # Meta.indexes and db_index fields, by name
        schema_editor.execute(statement)
    for definition in statistics:
        cursor.execute(definition)
    if partitioned:
        for _day, name in day_partitions(table):
            _copy_statistics(cursor, table, name)
    forget_known()
