"""Writing rendered files: only what changed, atomically (temp file, fsync, rename), and nothing more.

A reader (Postfix, Dovecot, OpenDKIM) sees either the old file or the new one, never half of one; a crash
between two files leaves each file whole, and the next apply finishes the job.
"""

import contextlib
import functools
import grp
import os
import pwd
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from .rendering import RenderedFile


def ownership(wanted: RenderedFile) -> tuple[int, int]:
    return ids_of(wanted.owner, wanted.group)


@functools.lru_cache(maxsize=16)
def ids_of(owner: str, group: str) -> tuple[int, int]:
    """(uid, gid) to give a file, -1 where it stays with the writer.

    The owner is only changed when running as root; the group whenever asked for and the group exists
    (a non-root worker must then be a member of it, else the apply fails and says so).
    """
    uid = pwd.getpwnam(owner).pw_uid if owner and os.geteuid() == 0 else -1
    try:
        gid = grp.getgrnam(group).gr_gid if group else -1
    except KeyError:
        gid = -1
    return uid, gid


def later_mtime_ns(path: Path) -> int | None:
    """An mtime at least one whole second past the current file's, or None when now already is."""
    try:
        previous = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    now = time.time_ns()
    if now // 10**9 > previous // 10**9:
        return None
    return (previous // 10**9 + 1) * 10**9


def write_atomic(
    path: Path, content: bytes, mode: int, ids: tuple[int, int] = (-1, -1), *, bump_mtime: bool = False
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mtime_ns = later_mtime_ns(path) if bump_mtime else None
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as temp:
            temp.write(content)
            temp.flush()
            if ids != (-1, -1):
                os.fchown(temp.fileno(), *ids)
            os.fchmod(temp.fileno(), mode)
            if mtime_ns is not None:
                os.utime(temp.fileno(), ns=(mtime_ns, mtime_ns))
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_current(path: Path, wanted: RenderedFile) -> bool:
    if wanted.user_table and not path.with_name(path.name + USER_TABLE_SUFFIX).exists():
        return False
    try:
        status = path.stat()
        if (status.st_mode & 0o777) != wanted.mode:
            return False
        uid, gid = ownership(wanted)
        if uid not in (-1, status.st_uid) or gid not in (-1, status.st_gid):
            return False
        return path.read_bytes() == wanted.content
    except FileNotFoundError:
        return False


def plan_changes(root: Path, files: dict[str, RenderedFile], managed_dirs: Iterable[str]) -> list[str]:
    """The relative paths `sync_files` would write or remove to make `root` hold exactly `files`.

    Postfix's `.db` files built from a rendered map are kept; any other file in a managed directory that
    the rendering no longer produces (a deleted autoresponder's script, a retired DKIM key) is removed.
    """
    changed = [rel for rel, wanted in sorted(files.items()) if not is_current(root / rel, wanted)]
    return changed + stale_files(root, files, managed_dirs)


def sync_files(root: Path, files: dict[str, RenderedFile], changes: Iterable[str]) -> None:
    for rel in changes:
        if rel in files:
            wanted = files[rel]
            if wanted.user_table:
                sync_user_table(root / rel, wanted)
            write_atomic(
                root / rel, wanted.content, wanted.mode, ownership(wanted), bump_mtime=wanted.bump_mtime
            )
        else:
            (root / rel).unlink(missing_ok=True)


# --- passwd-files as SQLite tables ------------------------------------------------------------------------

USER_TABLE_SUFFIX = ".sqlite"
USER_TABLE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS users (username TEXT PRIMARY KEY, password TEXT NOT NULL, uid INTEGER NOT NULL,"
    " gid INTEGER NOT NULL, home TEXT NOT NULL, quota_rule TEXT) WITHOUT ROWID"
)
# passwd-file extra fields → the table's columns (dovecot-sql.conf.ext selects them by these names)
USER_TABLE_EXTRA = {"userdb_quota_rule": "quota_rule"}


def user_table_rows(content: bytes) -> dict[str, tuple]:
    """passwd-file lines `user:password:uid:gid::home::extra fields` → {user: row of the `users` table}."""
    rows = {}
    for line in content.decode().splitlines():
        if not line:
            continue
        user, password, uid, gid, _gecos, home, _shell, extra = line.split(":", 7)
        columns = dict.fromkeys(USER_TABLE_EXTRA.values())
        for field in extra.split():
            name, _, value = field.partition("=")
            if name not in USER_TABLE_EXTRA:
                raise ValueError(f"no column for the passwd-file field {name!r}")
            columns[USER_TABLE_EXTRA[name]] = value
        rows[user] = (user, password, int(uid), int(gid), home, *columns.values())
    return rows


def ensure_user_table(path: Path, mode: int = 0o640, ids: tuple[int, int] = (-1, -1)) -> None:
    """Create `path` (a passwd-file's table) with its empty table, before Dovecot first opens it."""
    database = path.with_name(path.name + USER_TABLE_SUFFIX)
    database.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as db:
        db.execute(USER_TABLE_SCHEMA)
        db.commit()
    if ids != (-1, -1):
        os.chown(database, *ids)
    os.chmod(database, mode)


def sync_user_table(path: Path, wanted: RenderedFile) -> None:
    """Make the table beside the passwd-file `path` hold `wanted`'s lines: delete, insert and replace only
    the rows whose lines changed since the file as it is now, in one transaction, in place (Dovecot keeps
    the database open: a new file would go unseen). Without a table yet, every row is written."""
    database = path.with_name(path.name + USER_TABLE_SUFFIX)
    fresh = not database.exists()
    ensure_user_table(path, wanted.mode, ownership(wanted))
    try:
        old_lines = set() if fresh else set(path.read_bytes().splitlines())
    except FileNotFoundError:
        old_lines = set()
    new_lines = set(wanted.content.splitlines())
    # Only the lines that differ are parsed: a change to one mailbox of 100,000 touches one row.
    changed = user_table_rows(b"\n".join(sorted(new_lines - old_lines)))
    removed = user_table_rows(b"\n".join(sorted(old_lines - new_lines)))
    with contextlib.closing(sqlite3.connect(database, timeout=10, isolation_level=None)) as db:
        db.execute("BEGIN IMMEDIATE")
        if not old_lines:
            db.execute("DELETE FROM users")
        db.executemany(
            "DELETE FROM users WHERE username = ?", [(user,) for user in removed.keys() - changed.keys()]
        )
        db.executemany("INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?, ?, ?)", list(changed.values()))
        db.execute("COMMIT")


def stale_files(root: Path, files: dict[str, RenderedFile], managed_dirs: Iterable[str]) -> list[str]:
    keep = set(files) | {f"{rel}.db" for rel in files}
    keep |= {
        f"{rel}{USER_TABLE_SUFFIX}{end}"
        for rel, file in files.items()
        if file.user_table
        for end in ("", "-journal")
    }
    stale = []
    for managed in managed_dirs:
        for directory, _subdirs, names in os.walk(root / managed):
            for name in names:
                rel = str((Path(directory) / name).relative_to(root))
                if rel not in keep and not name.endswith(".tmp"):
                    stale.append(rel)
    return sorted(stale)


def ensure_mail_folders(root: Path, folders: list[str]) -> int:
    """Create mailbox home folders ("domain/local") owned by the mail user; return how many were new."""
    chown = os.geteuid() == 0
    ids = (settings.MAIL_UID, settings.MAIL_GID)
    domains_seen: set[str] = set()
    created = 0
    for folder in folders:
        domain = folder.partition("/")[0]
        if domain not in domains_seen:
            domains_seen.add(domain)
            domain_dir = root / domain
            if not domain_dir.is_dir():
                domain_dir.mkdir(parents=True, exist_ok=True)
                if chown:
                    os.chown(domain_dir, *ids)
        path = f"{root}/{folder}"
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        if chown:
            os.chown(path, *ids)
        created += 1
    return created


def remove_mail_folder(root: Path, folder: Path) -> bool:
    """Delete a purged mailbox's folder for good; never a symbolic link or anything outside `root`."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    if folder.resolve().parent.parent != root.resolve():
        return False
    shutil.rmtree(folder)
    return True


def read_lines(path: Path) -> set[str]:
    try:
        return set(path.read_text().splitlines())
    except FileNotFoundError:
        return set()
