"""Fast bulk writes for the relay log on PostgreSQL, with Django's `bulk_create`/`bulk_update` elsewhere.

New rows go in with `COPY`, several times faster than multi-row INSERTs. Where duplicates must be ignored
(re-ingested log lines), and for updates, the values travel as one array per column and are unpacked
with `unnest`: `INSERT ... SELECT ... FROM unnest(...) ON CONFLICT DO NOTHING` and
`UPDATE ... FROM unnest(...)`. One statement each, with no temporary table to create, fill and empty.
"""

import contextlib
import threading
from datetime import UTC, date, datetime

import psycopg
from django.db import IntegrityError, connection, models, transaction
from psycopg.pq import Format

BULK_SIZE = 2_000


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _columns(model: type[models.Model], attnames: list[str]) -> list[str]:
    by_attname = {field.attname: field.column for field in model._meta.concrete_fields}
    return [by_attname[name] for name in attnames]


_allocated: dict[str, int] = {}
_allocate_lock = threading.Lock()


def allocate_ids(model, count: int) -> list[int]:
    """`count` new primary keys for `model`, drawn from its sequence (PostgreSQL) so they never clash with
    anyone else's; on SQLite (tests, the embedded set-up), after the largest id in use or handed out."""
    if not count:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array, not a row per id: fetching tens of thousands of rows costs more than drawing them.
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            (sequence,) = cursor.fetchone()
            cursor.execute(
                "SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)", [sequence, count]
            )
            return cursor.fetchone()[0]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")  # noqa: S608
        (largest,) = cursor.fetchone()
    with _allocate_lock:
        first = max(largest, _allocated.get(table, 0)) + 1
        _allocated[table] = first + count - 1
    return list(range(first, first + count))


def copy_rows(
    model: type[models.Model],
    attnames: list[str],
    rows: list[tuple],
    *,
    ignore_conflicts=False,
    lines: list[str] = (),  # type: ignore[assignment]
) -> None:
    """Insert rows given as tuples of the named attributes (no primary keys are returned), and `lines`:
    rows already written in `COPY`'s text format (without their newline)."""
    if lines:
        if (
            is_postgresql()
            and ignore_conflicts
            and _copy_unless_clash(_copy_statement(model, attnames), rows, lines)
        ):
            return
        rows = [*rows, *_parse_lines(model, attnames, lines)]
    if not rows:
        return
    if not is_postgresql():
        objects = [model(**dict(zip(attnames, row, strict=True))) for row in rows]
        model.objects.bulk_create(objects, batch_size=BULK_SIZE, ignore_conflicts=ignore_conflicts)
        return
    statement = _copy_statement(model, attnames)
    if not ignore_conflicts:
        with connection.cursor() as cursor:
            _copy(cursor, statement, rows)
        return
    # Duplicates are rare (lines read again): `COPY` first, and only if it clashes the slower insert that
    # skips them.
    if _copy_unless_clash(statement, rows):
        return
    table, columns = _table_and_columns(model, attnames)
    # Identifiers come from model metadata and are quoted; values travel only as parameters.
    arrays, params = _unnest(model, attnames, rows)
    _execute_bound(f"INSERT INTO {table} ({columns}) SELECT * FROM {arrays} ON CONFLICT DO NOTHING", params)  # noqa: S608


def _copy_unless_clash(statement: str, rows: list[tuple], lines: list[str] = ()) -> bool:  # type: ignore[assignment]
    """`COPY` in a savepoint; False, with nothing stored, when a row clashes with one already there."""
    try:
        with transaction.atomic(), connection.wrap_database_errors, connection.cursor() as cursor:
            _copy(cursor, statement, rows, lines)
    except IntegrityError:
        return False
    return True


def _unnest(model: type[models.Model], attnames: list[str], rows: list[tuple]) -> tuple[str, list]:
    """`unnest(%b::type[], ...)` over the rows' columns, and the column arrays as its parameters."""
    fields = {field.attname: field for field in model._meta.concrete_fields}
    casts = []
    for name in attnames:
        field = fields[name]
        db_type = field.rel_db_type(connection) if field.is_relation else field.db_type(connection)
        casts.append(f"%b::{db_type}[]")  # binary: no quoting of each value
    columns = [list(column) for column in zip(*rows, strict=True)]
    return f"unnest({', '.join(casts)})", columns


def _table_and_columns(model: type[models.Model], attnames: list[str]) -> tuple[str, str]:
    """The model's table and the named attributes' columns, quoted."""
    table = connection.ops.quote_name(model._meta.db_table)
    return table, ", ".join(connection.ops.quote_name(c) for c in _columns(model, attnames))


def _copy_statement(model: type[models.Model], attnames: list[str]) -> str:
    table, columns = _table_and_columns(model, attnames)
    return f"COPY {table} ({columns}) FROM STDIN"


def _copy(cursor, statement: str, rows: list[tuple], lines: list[str] = ()) -> None:  # type: ignore[assignment]
    """Stream rows into `COPY` as text made here at once (psycopg's `write_row` formats value by value, and
    cost more than the rest of a merge)."""
    text = "".join(["\t".join(map(_copy_value, row)) + "\n" for row in rows])
    with cursor.cursor.copy(statement) as copy:
        copy.write((text + "".join([line + "\n" for line in lines])).encode())


NULL = "\\N"
_UNESCAPES = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}


def unescape_copy(raw: str) -> str:
    """A value of `COPY`'s text format as it was (not for `NULL`)."""
    if "\\" not in raw:
        return raw
    parts = []
    chars = iter(raw)
    for char in chars:
        if char == "\\":
            char = _UNESCAPES.get(char + next(chars, ""), "")
        parts.append(char)
    return "".join(parts)


def _parse_lines(model: type[models.Model], attnames: list[str], lines: list[str]) -> list[tuple]:
    """`COPY` text lines back as tuples of Python values (the rare way: when they clash, or on SQLite)."""
    fields = {field.attname: field for field in model._meta.concrete_fields}
    converters = [fields[name].to_python for name in attnames]
    return [
        tuple(
            None if raw == NULL else convert(unescape_copy(raw))
            for convert, raw in zip(converters, line.split("\t"), strict=True)
        )
        for line in lines
    ]


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value) -> str:
    """A value in `COPY`'s text format."""
    kind = type(value)
    if kind is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_ESCAPES)
        return value
    if value is None:
        return "\\N"
    if kind is int or kind is float:
        return repr(value)
    if kind is bool:
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return _copy_value(str(value))


def update_rows(
    objects: list, attnames: list[str], *, model: type[models.Model] | None = None, partition_key: str = ""
) -> None:
    """Save the named attributes of many instances (of `model`, or objects with its attributes and `pk`) in
    one `UPDATE ... FROM unnest(...)`. Given the `partition_key` column (whose value the objects hold as it
    is stored), each row is looked up by it too: PostgreSQL then opens only the partition that holds the row
    instead of probing every partition's primary key for each id."""
    if not objects:
        return
    model = model or type(objects[0])
    if not is_postgresql():
        by_attname = {field.attname: field.name for field in model._meta.concrete_fields}
        fields = [by_attname[name] for name in attnames]
        instances = [
            o if isinstance(o, model) else model(pk=o.pk, **{name: getattr(o, name) for name in attnames})
            for o in objects
        ]
        model.objects.bulk_update(instances, fields=fields, batch_size=BULK_SIZE)
        return
    table = connection.ops.quote_name(model._meta.db_table)
    keys = ["id", partition_key] if partition_key else ["id"]
    quoted = [connection.ops.quote_name(c) for c in _columns(model, [*keys, *attnames])]
    assignments = ", ".join(f"{q} = s.{q}" for q in quoted[len(keys) :])
    matches = " AND ".join(f"t.{q} = s.{q}" for q in quoted[: len(keys)])
    names = ["pk", *keys[1:], *attnames]
    arrays, params = _unnest(model, [*keys, *attnames], [[getattr(o, n) for n in names] for o in objects])
    # Identifiers come from model metadata and are quoted; values travel only as parameters.
    with _row_by_row(partition_key):
        _execute_bound(
            f"UPDATE {table} t SET {assignments} FROM {arrays} AS s({', '.join(quoted)}) WHERE {matches}",  # noqa: S608
            params,
        )


@contextlib.contextmanager
def _row_by_row(partitioned=True):
    """Within the statements it wraps, the planner joins a list of rows to a partitioned table row by row
    (a nested loop looking each row up by index), as only a join that way lets PostgreSQL open just the
    partition a row's key names. The planner cannot count on that pruning when it plans, reckons a probe of
    every partition for each row, and otherwise hashed or sorted whole tables: the merge's lookups of a
    thousand recipients read every day's partition, twice a batch. Inside a transaction only (`SET LOCAL`)."""
    if not partitioned:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
        try:
            yield
        finally:
            cursor.execute("SET LOCAL enable_hashjoin TO DEFAULT; SET LOCAL enable_mergejoin TO DEFAULT")


def select_bound(model: type[models.Model], attnames: list[str], where: str, params: list) -> list[tuple]:
    """The named attributes of `model`'s rows matching `where` (PostgreSQL: `%s` placeholders, bound by the
    server, so that a list of thousands of values is one array parameter, not thousands of literals that
    Django quotes and PostgreSQL parses). `where` may name the table as `t`."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(f"t.{connection.ops.quote_name(c)}" for c in _columns(model, attnames))
    connection.ensure_connection()
    with _row_by_row(), connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        if connection.timezone is UTC:  # the session's time zone too (Django sets it): the same datetimes
            cursor.adapters.register_loader("timestamptz", _TIMESTAMPTZ_LOADER)
        cursor.execute(f"SELECT {columns} FROM {table} t {where}", params)  # noqa: S608
        return cursor.fetchall()


# psycopg's own (compiled) reading of `timestamptz`. Django's, which every connection of its has, is psycopg's
# pure-Python one with the time zone set after it: reading the merge's stored messages and recipients
# with it cost the writer about 1 s of CPU per run of the varied benchmark log (two timestamps a row).
_TIMESTAMPTZ_LOADER = psycopg.adapters.get_loader(psycopg.postgres.types["timestamptz"].oid, Format.TEXT)


def _execute_bound(statement: str, params: list) -> None:
    """Run a statement with its parameters bound by the server, not spliced into the SQL text by the client
    as Django's cursors do: column arrays of thousands of values then travel in psycopg's compiled
    format instead of being quoted value by value in Python."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(statement, params)
