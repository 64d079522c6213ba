"""The test databases on PostgreSQL: migrated once per test run, then copied for each pytest-xdist worker.

Running every migration takes several seconds of CPU; doing it once per worker made it the largest single
cost of the fast set. Instead:

1. the controlling pytest process starts `python -m tests.database <run id>` as soon as it is configured, so
   the migrations run while the workers start and collect the tests;
2. that process builds `test_<name>_template` (created, migrated exactly as Django's test runner would, and
   labelled with the run's id), under a PostgreSQL advisory lock;
3. each worker takes the same lock (waiting for the build, or building the template itself if it got there
   first) and copies the template into its own `test_<name>_gw<N>` with `CREATE DATABASE … TEMPLATE`;
4. the controller drops the template when the run ends.

Every run builds its template from the migrations afresh (the label is the run's id), as CI runs from clean;
nothing is reused across runs. Without pytest-xdist, on SQLite or with `--reuse-db`, pytest-django's own
set-up runs instead.
"""

import subprocess
import sys
import zlib
from contextlib import contextmanager

from django.conf import settings
from django.core.management import call_command
from django.db import connections

ALIAS = "default"


def template_name() -> str:
    """`test_<database>_template`, beside the workers' `test_<database>_gw<N>`."""
    return f"test_{connections[ALIAS].settings_dict['NAME']}_template"


def supported() -> bool:
    return connections[ALIAS].vendor == "postgresql"


@contextmanager
def _locked():
    """A cursor on the maintenance database, holding the advisory lock of this template's run."""
    connection = connections[ALIAS]
    key = zlib.crc32(template_name().encode())
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            yield cursor
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _quoted(name: str) -> str:
    return connections[ALIAS].ops.quote_name(name)


def _label(cursor, name: str) -> str | None:
    cursor.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name])
    row = cursor.fetchone()
    return row[0] if row else None


def _build(cursor, run_id: str) -> None:
    """Create and migrate the template with this process's `default` connection, then let go of it."""
    name = template_name()
    cursor.execute(f"DROP DATABASE IF EXISTS {_quoted(name)}")
    cursor.execute(f"CREATE DATABASE {_quoted(name)}")
    connection = connections[ALIAS]
    real_name = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = name
    try:
        call_command("migrate", verbosity=0, interactive=False, database=ALIAS, run_syncdb=True)
        call_command("createcachetable", database=ALIAS)
    finally:
        connection.close()  # a template must have no sessions when it is copied
        connection.settings_dict["NAME"] = real_name
    cursor.execute(f"COMMENT ON DATABASE {_quoted(name)} IS %s", [run_id])


def ensure_template(run_id: str) -> None:
    with _locked() as cursor:
        if _label(cursor, template_name()) != run_id:
            _build(cursor, run_id)


def clone_template(run_id: str, target: str) -> None:
    """`target` becomes a fresh copy of this run's template (built first if nobody has yet)."""
    with _locked() as cursor:
        if _label(cursor, template_name()) != run_id:
            _build(cursor, run_id)
        cursor.execute(f"DROP DATABASE IF EXISTS {_quoted(target)}")
        cursor.execute(f"CREATE DATABASE {_quoted(target)} TEMPLATE {_quoted(template_name())}")
        # a throwaway database: a commit need not wait for the disk (transactional tests commit a lot)
        cursor.execute(f"ALTER DATABASE {_quoted(target)} SET synchronous_commit TO off")


def drop_template() -> None:
    with _locked() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {_quoted(template_name())}")


def start_building(run_id: str) -> subprocess.Popen:
    """Build the template in a child process, while this one goes on starting the workers."""
    return subprocess.Popen([sys.executable, "-m", "tests.database", run_id], cwd=settings.BASE_DIR)


if __name__ == "__main__":
    import django

    django.setup()
    ensure_template(sys.argv[1])
