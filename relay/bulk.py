"""Fast bulk inserts for the relay log: PostgreSQL `COPY`, with Django's `bulk_create` as the fallback.

`COPY` moves rows several times faster than multi-row INSERTs. Where duplicates must be ignored
(re-ingested log lines), rows are copied into a temporary table and moved with
`INSERT ... SELECT ... ON CONFLICT DO NOTHING`.
"""

import hashlib

from django.db import connection, models

BULK_SIZE = 2_000


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _columns(model: type[models.Model], attnames: list[str]) -> list[str]:
    by_attname = {field.attname: field.column for field in model._meta.concrete_fields}
    return [by_attname[name] for name in attnames]


def create_with_ids(rows: list[models.Model]) -> None:
    """Insert new model instances and set their primary keys."""
    if not rows:
        return
    model = type(rows[0])
    if not is_postgresql():
        model.objects.bulk_create(rows, batch_size=BULK_SIZE)
        return
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(rows)]
        )
        for row, (pk,) in zip(rows, cursor.fetchall(), strict=True):
            row.pk = pk
    attnames = [field.attname for field in model._meta.concrete_fields]
    copy_rows(model, attnames, [tuple(getattr(row, name) for name in attnames) for row in rows])


def copy_rows(
    model: type[models.Model], attnames: list[str], rows: list[tuple], *, ignore_conflicts=False
) -> None:
    """Insert rows given as tuples of the named attributes (no primary keys are returned)."""
    if not rows:
        return
    if not is_postgresql():
        objects = [model(**dict(zip(attnames, row, strict=True))) for row in rows]
        model.objects.bulk_create(objects, batch_size=BULK_SIZE, ignore_conflicts=ignore_conflicts)
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _columns(model, attnames))
    with connection.cursor() as cursor:
        if not ignore_conflicts:
            _copy(cursor, f"COPY {table} ({columns}) FROM STDIN", rows)
            return
        signature = hashlib.blake2b(columns.encode(), digest_size=4).hexdigest()
        staging = connection.ops.quote_name(f"{model._meta.db_table}_incoming_{signature}")
        # Identifiers below come from model metadata and are quoted; no value is ever formatted into SQL.
        create = f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS SELECT {columns} FROM {table}"  # noqa: S608
        cursor.execute(create + " WITH NO DATA")
        cursor.execute(f"TRUNCATE {staging}")
        _copy(cursor, f"COPY {staging} ({columns}) FROM STDIN", rows)
        # No ANALYZE: this statement only scans the staging table (conflicts are probed in the target's index).
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} ON CONFLICT DO NOTHING"  # noqa: S608
        )
        cursor.execute(f"TRUNCATE {staging}")


def _copy(cursor, statement: str, rows: list[tuple]) -> None:
    with cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def update_rows(objects: list[models.Model], attnames: list[str]) -> None:
    """Save the named attributes of many instances: COPY into a staging table, then one UPDATE ... FROM."""
    if not objects:
        return
    model = type(objects[0])
    if not is_postgresql():
        by_attname = {field.attname: field.name for field in model._meta.concrete_fields}
        fields = [by_attname[name] for name in attnames]
        model.objects.bulk_update(objects, fields=fields, batch_size=BULK_SIZE)
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = _columns(model, ["id", *attnames])
    signature = hashlib.blake2b(",".join(columns).encode(), digest_size=4).hexdigest()
    staging = connection.ops.quote_name(f"{model._meta.db_table}_changed_{signature}")
    quoted = [connection.ops.quote_name(c) for c in columns]
    assignments = ", ".join(f"{q} = s.{q}" for q in quoted[1:])
    with connection.cursor() as cursor:
        # Identifiers come from model metadata and are quoted; no value is ever formatted into SQL.
        create = f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS SELECT {', '.join(quoted)} FROM {table}"  # noqa: S608
        cursor.execute(create + " WITH NO DATA")
        cursor.execute(f"TRUNCATE {staging}")
        _copy(
            cursor,
            f"COPY {staging} ({', '.join(quoted)}) FROM STDIN",
            [tuple(getattr(obj, name) for name in ["pk", *attnames]) for obj in objects],
        )
        cursor.execute(f"ANALYZE {staging}")  # so the join below probes the primary key instead of scanning
        cursor.execute(f"UPDATE {table} t SET {assignments} FROM {staging} s WHERE t.id = s.id")  # noqa: S608
        cursor.execute(f"TRUNCATE {staging}")
