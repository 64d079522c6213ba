"""The test databases: migrated once per test run, then copied for each pytest-xdist worker.

Running every migration takes several seconds of CPU (about 9 s on SQLite, mostly Django re-rendering the
migration states); doing it once per worker made it the largest single cost of the fast set. Instead, on
PostgreSQL:

1. the controlling pytest process starts `python -m tests.database <run id>` as soon as it is configured, so
   the migrations run while the workers start and collect the tests (on SQLite with a kept migrated file,
   below, it copies that file itself instead);
2. that process builds `test_<name>_template` (created, migrated exactly as Django's test runner would, and
   labelled with the run's id), under a PostgreSQL advisory lock;
3. each worker takes the same lock (waiting for the build, or building the template itself if it got there
   first) and copies the template into its own `test_<name>_gw<N>` with `CREATE DATABASE … TEMPLATE`;
4. the controller drops the template when the run ends.

On SQLite (the fast set's database) the same happens with a file: the controller's child process migrates
an in-memory database and writes it to `postbode-test-<run id>.sqlite3` in the temporary directory, under an
exclusive lock on a file beside it; each worker takes that lock (building the file itself if it got there
first), then copies the file into its own in-memory test database with SQLite's backup API, which is what
Django's own parallel test runner does for its workers.

On PostgreSQL every run builds its template from the migrations afresh (the label is the run's id), as CI
runs from clean. On SQLite the migrated file is also kept in `var/test-databases/`, named by a digest of
everything the migrations read: every migration's source (ours and the installed packages'), the models of
apps without migrations, Django's version and the settings. A later run whose digest is the same copies that
file instead of migrating (a changed migration, package or setting gives a new digest, so a stale database
is never used). Without pytest-xdist or with `--reuse-db`, pytest-django's own set-up runs instead.
"""

import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zlib
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connections

ALIAS = "default"


def template_name() -> str:
    """`test_<database>_template`, beside the workers' `test_<database>_gw<N>`."""
    return f"test_{connections[ALIAS].settings_dict['NAME']}_template"


def supported() -> bool:
    return connections[ALIAS].vendor in {"postgresql", "sqlite"}


def _sqlite() -> bool:
    return connections[ALIAS].vendor == "sqlite"


def sqlite_template_path(run_id: str) -> Path:
    return Path(tempfile.gettempdir()) / f"postbode-test-{run_id}.sqlite3"


@contextmanager
def _sqlite_locked(run_id: str):
    lock = sqlite_template_path(run_id).with_suffix(".lock")
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


KEPT_TEMPLATES = 3  # migrated SQLite files kept in var/test-databases/, the most recently used


def _sqlite_cache_dir() -> Path:
    return Path(settings.BASE_DIR) / "var" / "test-databases"


def migrated_digest() -> str:
    """A digest of everything a migrated test database depends on: the source of every migration on disk
    (ours and the installed packages'), the models of apps without migrations (made by `run_syncdb`),
    Django's version and every setting (a data migration may read one, e.g. SITE_URL for the site's
    domain)."""
    import django
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    digest = hashlib.sha256(django.get_version().encode())
    for key in sorted(loader.disk_migrations):
        source = Path(sys.modules[type(loader.disk_migrations[key]).__module__].__file__ or "")
        digest.update(repr(key).encode() + source.read_bytes())
    for label in sorted(loader.unmigrated_apps):
        models_module = apps.get_app_config(label).models_module
        if models_module is not None and models_module.__file__:
            digest.update(label.encode() + Path(models_module.__file__).read_bytes())
    names = sorted(name for name in dir(settings) if name.isupper())
    digest.update(json.dumps({name: getattr(settings, name) for name in names}, default=repr).encode())
    return digest.hexdigest()[:32]


def _sqlite_kept() -> Path:
    """Where the migrated file of these migrations, packages and settings is kept (it may not exist yet)."""
    return _sqlite_cache_dir() / f"sqlite-{migrated_digest()}.sqlite3"


def _sqlite_build(run_id: str) -> None:
    """The template file: a copy of the migrated file kept from an earlier run with the same digest, or else
    an in-memory database migrated as Django's test runner would, written to the template file and kept."""
    target = sqlite_template_path(run_id)
    cache = _sqlite_cache_dir()
    kept = _sqlite_kept()
    if kept.exists():
        shutil.copyfile(kept, target.with_suffix(".partial"))
        os.replace(target.with_suffix(".partial"), target)
        os.utime(kept)
        return
    _sqlite_migrate_into(target)
    cache.mkdir(parents=True, exist_ok=True)
    partial = kept.with_name(f".{kept.name}.{os.getpid()}.partial")
    shutil.copyfile(target, partial)
    os.replace(partial, kept)
    by_use = sorted(cache.glob("sqlite-*.sqlite3"), key=lambda path: path.stat().st_mtime)
    for old in by_use[:-KEPT_TEMPLATES]:
        old.unlink(missing_ok=True)


def _sqlite_migrate_into(target: Path) -> None:
    connection = connections[ALIAS]
    real_name = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = ":memory:"
    partial = target.with_suffix(".partial")
    try:
        call_command("migrate", verbosity=0, interactive=False, database=ALIAS, run_syncdb=True)
        call_command("createcachetable", database=ALIAS)
        connection.ensure_connection()
        destination = sqlite3.connect(partial)
        try:
            connection.connection.backup(destination)
        finally:
            destination.close()
        os.replace(partial, target)
    finally:
        connection.close()
        if connection.connection is not None:  # an in-memory database stays open through close()
            connection.connection.close()
            connection.connection = None
        connection.settings_dict["NAME"] = real_name


def _sqlite_ensure(run_id: str) -> None:
    with _sqlite_locked(run_id):
        if not sqlite_template_path(run_id).exists():
            _sqlite_build(run_id)


def sqlite_clone_into_memory(run_id: str) -> str:
    """This worker's in-memory test database (Django's name for it), a copy of this run's template file.
    The connection stays open: an in-memory database lives as long as its connection."""
    _sqlite_ensure(run_id)
    connection = connections[ALIAS]
    connection.close()
    name = connection.creation._get_test_db_name()
    settings.DATABASES[ALIAS]["NAME"] = connection.settings_dict["NAME"] = name
    connection.ensure_connection()
    source = sqlite3.connect(sqlite_template_path(run_id))
    try:
        source.backup(connection.connection)
    finally:
        source.close()
    return name


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
    if _sqlite():
        _sqlite_ensure(run_id)
        return
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


def drop_template(run_id: str) -> None:
    if _sqlite():
        path = sqlite_template_path(run_id)
        for leftover in (path, path.with_suffix(".partial"), path.with_suffix(".lock")):
            leftover.unlink(missing_ok=True)
        return
    with _locked() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {_quoted(template_name())}")


def start_building(run_id: str) -> subprocess.Popen | None:
    """Build the template in a child process, while this one goes on starting the workers; None when it is
    ready already. On SQLite with the migrated file kept from an earlier run, this process copies it at once:
    the child spent 0.8 s of CPU starting Django for 0.04 s of work, while the workers started beside it."""
    if _sqlite() and _sqlite_kept().exists():
        _sqlite_ensure(run_id)
        return None
    return subprocess.Popen([sys.executable, "-m", "tests.database", run_id], cwd=settings.BASE_DIR)


if __name__ == "__main__":
    import django

    django.setup()
    ensure_template(sys.argv[1])
