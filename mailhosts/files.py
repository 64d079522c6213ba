"""Writing rendered files: only what changed, atomically (temp file, fsync, rename), and nothing more.

A reader (Postfix, Dovecot, OpenDKIM) sees either the old file or the new one, never half of one; a crash
between two files leaves each file whole, and the next apply finishes the job.
"""

import contextlib
import ctypes
import functools
import grp
import os
import pwd
import re
import secrets
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings

from .rendering import MAILBOX_USERS, RenderedFile, UserTable, user_table_layout


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
    write_atomic_pieces(path, [content], mode, ids, bump_mtime=bump_mtime)


def write_atomic_pieces(
    path: Path,
    pieces: list[bytes | tuple[int, int]],
    mode: int,
    ids: tuple[int, int] = (-1, -1),
    *,
    bump_mtime: bool = False,
) -> None:
    """`path` replaced at once by the pieces: new bytes, or a range (offset, length) of the file as it is,
    which the kernel copies (`copy_file_range`) without this process reading it. Written to a temporary
    file beside it, flushed to the disk (`MAILHOST_FSYNC`) and renamed over it, so that a crash leaves the
    old file or the new one."""
    mtime_ns = later_mtime_ns(path) if bump_mtime else None
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as temp, contextlib.ExitStack() as opened:
            source = None
            for piece in pieces:
                if isinstance(piece, bytes):
                    temp.write(piece)
                    continue
                if source is None:
                    source = opened.enter_context(path.open("rb"))
                temp.flush()
                copy_range(source.fileno(), temp.fileno(), *piece)
            temp.flush()
            if ids != (-1, -1):
                os.fchown(temp.fileno(), *ids)
            os.fchmod(temp.fileno(), mode)
            if mtime_ns is not None:
                os.utime(temp.fileno(), ns=(mtime_ns, mtime_ns))
            if settings.MAILHOST_FSYNC:
                os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def copy_range(source: int, target: int, offset: int, length: int) -> None:
    """Append `length` bytes of `source` from `offset` to `target` (at its position)."""
    while length > 0:
        try:
            copied = os.copy_file_range(source, target, length, offset)
        except OSError:  # not on this file system: through this process
            copied = os.write(target, os.pread(source, min(length, 1 << 20), offset))
        if copied == 0:
            raise OSError(f"the file ended {length} bytes early while copying it")
        offset += copied
        length -= copied


def connect(database: Path, **options) -> sqlite3.Connection:
    """A connection to one of the apply's SQLite databases (the part store, Dovecot's user tables). Without
    `MAILHOST_FSYNC` (the fast tests' temporary folders) SQLite skips its own flushes to the disk as well."""
    db = sqlite3.connect(database, timeout=10, **options)
    if not settings.MAILHOST_FSYNC:
        db.execute("PRAGMA synchronous = OFF")
    return db


@functools.cache
def _syncfs():
    """Linux's `syncfs(2)` (flush one file system), or None where the C library has none."""
    try:
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


def sync_file_systems(folders: Iterable[str]) -> None:
    """Flush to the disk what was written below these folders: each of their file systems once (`syncfs`),
    not every file system of the machine (`sync`), which on a mail host would wait for the mail store's
    writes too. Where there is no `syncfs` (or it fails), `sync` does it. Nothing without `MAILHOST_FSYNC`."""
    if not settings.MAILHOST_FSYNC:
        return
    syncfs = _syncfs()
    devices: dict[int, str] = {}
    for folder in folders:
        devices.setdefault(os.stat(folder).st_dev, folder)
    for folder in devices.values():
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            if syncfs is None or syncfs(fd) != 0:
                os.sync()
                return
        finally:
            os.close(fd)


def fsync_directory(directory: Path) -> None:
    if not settings.MAILHOST_FSYNC:
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def user_database_of(path: Path, wanted: RenderedFile, root: Path) -> Path:
    """The SQLite database that holds a user-table passwd-file's rows: shared, or its own beside it."""
    if wanted.user_database:
        return root / wanted.user_database
    return path.with_name(path.name + USER_TABLE_SUFFIX)


def is_current(path: Path, wanted: RenderedFile, root: Path | None = None) -> bool:
    if wanted.user_table and not user_database_of(path, wanted, root or path.parent).exists():
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


def plan_changes(
    root: Path, files: dict[str, RenderedFile], managed_dirs: Iterable[str], **stale_options
) -> list[str]:
    """The relative paths `sync_files` would write or remove to make `root` hold exactly `files`.

    Postfix's `.db` files built from a rendered map are kept; any other file in a managed directory that
    the rendering no longer produces (a deleted autoresponder's script, a retired DKIM key) is removed.
    `stale_options` are those of `stale_files`, for a rendering of some scopes only.
    """
    # Each folder is listed once: a file not in it (every one on a host's first apply) is not looked at.
    listed: dict[str, set[str]] = {}
    for rel in files:
        folder = rel.rpartition("/")[0]
        if folder not in listed:
            try:
                listed[folder] = set(os.listdir(root / folder))
            except (FileNotFoundError, NotADirectoryError):
                listed[folder] = set()
    changed = [
        rel
        for rel, wanted in sorted(files.items())
        if rel.rpartition("/")[2] not in listed[rel.rpartition("/")[0]]
        or not is_current(root / rel, wanted, root)
    ]
    return changed + stale_files(root, files, managed_dirs, **stale_options)


# Beyond this many files in one sync, they are written as one batch: every temporary file first, one flush
# of the file system, then the renames (each file still appears whole, old or new, but the first apply of a
# host with thousands of domains does not wait for thousands of separate flushes).
BATCH_FROM = 8


def sync_files(
    root: Path,
    files: dict[str, RenderedFile],
    changes: Iterable[str],
    user_tables: dict[str, str] | None = None,
) -> None:
    """Write (or remove) the `changes`. A removed passwd-file of a shared user table (`user_tables`: folder
    -> database) takes its rows out of the table first."""
    changes = list(changes)
    writes = [rel for rel in changes if rel in files]
    shared: dict[Path, list[tuple[Path, RenderedFile]]] = {}
    for rel in writes:
        wanted = files[rel]
        if wanted.user_table and wanted.user_database:
            shared.setdefault(root / wanted.user_database, []).append((root / rel, wanted))
        elif wanted.user_table:
            sync_user_table(root / rel, wanted, root)
    for database, passwd_files in shared.items():
        sync_shared_user_table(database, passwd_files)
    for rel in changes:
        if rel not in files:
            remove_user_rows(root, rel, user_tables or {})
            (root / rel).unlink(missing_ok=True)
            remove_empty_folders(root, (root / rel).parent)
    if len(writes) < BATCH_FROM:
        for rel in writes:
            wanted = files[rel]
            write_atomic(
                root / rel, wanted.content, wanted.mode, ownership(wanted), bump_mtime=wanted.bump_mtime
            )
        return
    write_batch(root, {rel: files[rel] for rel in writes})


def remove_empty_folders(root: Path, folder: Path) -> None:
    """Remove `folder` and the folders above it (below `root`) that a removed file left empty."""
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:  # not empty (or already gone)
            return
        folder = folder.parent


def write_batch(root: Path, files: dict[str, RenderedFile]) -> None:
    """Every file to a temporary file beside it, one flush of their file system, then the renames (and one
    flush of those). Plain `os` calls on path strings: a host's first apply writes about 10,000 files this
    way."""
    temporary: list[tuple[str, str]] = []
    folders: set[str] = set()
    top = str(root)
    # Temporary names `.<name>.<batch>.tmp` (as `mkstemp`'s, found and removed by `stale_files`): one random
    # part for the batch, each created exclusively (`mkstemp` when a name is taken after all).
    batch = secrets.token_hex(4)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        for rel, wanted in files.items():
            path = f"{top}/{rel}"
            folder, _slash, name = path.rpartition("/")
            if folder not in folders:
                os.makedirs(folder, exist_ok=True)
                folders.add(folder)
            mtime_ns = later_mtime_ns(Path(path)) if wanted.bump_mtime else None
            temp_name = f"{folder}/.{name}.{batch}.tmp"
            try:
                fd = os.open(temp_name, flags, 0o600)
            except FileExistsError:
                fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
            temporary.append((path, temp_name))
            try:
                write_all(fd, wanted.content)
                ids = ownership(wanted)
                if ids != (-1, -1):
                    os.fchown(fd, *ids)
                os.fchmod(fd, wanted.mode)
                if mtime_ns is not None:
                    os.utime(fd, ns=(mtime_ns, mtime_ns))
            finally:
                os.close(fd)
        sync_file_systems(folders)
        for path, temp_name in temporary:
            os.replace(temp_name, path)
    except BaseException:
        for _path, temp_name in temporary:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
        raise
    sync_file_systems(folders)  # the renames, in every folder at once


def write_all(fd: int, content: bytes) -> None:
    view = memoryview(content)
    while view:
        view = view[os.write(fd, view) :]


def write_plain(root: Path, contents: dict[str, bytes], mode: int = 0o644) -> None:
    """Write the apply's own small state files (one or many) atomically."""
    files = {rel: RenderedFile(content, mode) for rel, content in contents.items()}
    sync_files(root, files, list(files))


# --- passwd-files as SQLite tables ------------------------------------------------------------------------

USER_TABLE_SUFFIX = ".sqlite"


def user_table_rows(content: bytes, layout: UserTable = MAILBOX_USERS) -> dict[str, tuple]:
    """passwd-file lines `user:password:uid:gid::home::extra fields` → {user: row of the `users` table}."""
    return user_rows_of_lines(content.splitlines(), layout)


def user_rows_of_lines(lines: Iterable[bytes], layout: UserTable = MAILBOX_USERS) -> dict[str, tuple]:
    """`user_table_rows` of lines (a host's 100,000 lines are parsed on its first apply)."""
    rows = {}
    for line in lines:
        if line:
            row = layout.row(line)
            rows[row[0]] = row
    return rows


def ensure_user_database(
    database: Path, mode: int = 0o640, ids: tuple[int, int] = (-1, -1), layout: UserTable = MAILBOX_USERS
) -> None:
    database.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(connect(database)) as db:
        db.execute(layout.schema)
        db.commit()
    if ids != (-1, -1):
        os.chown(database, *ids)
    os.chmod(database, mode)


def sync_user_table(path: Path, wanted: RenderedFile, root: Path | None = None) -> None:
    """Make the table of the passwd-file `path` hold `wanted`'s lines: delete, insert and replace only
    the rows whose lines changed since the file as it is now, in one transaction, in place (Dovecot keeps
    the database open: a new file would go unseen). Without a table yet, every row is written.

    A shared table (`user_database`) holds the rows of several files; each sync touches only its own."""
    database = user_database_of(path, wanted, root or path.parent)
    layout = user_table_layout(os.path.relpath(database, root)) if root is not None else MAILBOX_USERS
    fresh = not database.exists()
    ensure_user_database(database, wanted.mode, ownership(wanted), layout)
    try:
        old_lines = set() if fresh else set(path.read_bytes().splitlines())
    except FileNotFoundError:
        old_lines = set()
    new_lines = set(wanted.content.splitlines())
    # Only the lines that differ are parsed: a change to one mailbox of 100,000 touches one row.
    changed = user_table_rows(b"\n".join(sorted(new_lines - old_lines)), layout)
    removed = user_table_rows(b"\n".join(sorted(old_lines - new_lines)), layout)
    write_user_rows(database, changed, removed, start_empty=not old_lines and not wanted.user_database)


def write_user_rows(database: Path, changed: dict, removed: dict, *, start_empty: bool = False) -> None:
    """In one transaction: the removed users' rows go, the changed ones are written (a user both removed and
    changed, e.g. a line that only changed, is written); `start_empty` clears the table first."""
    with contextlib.closing(connect(database, isolation_level=None)) as db:
        db.execute("BEGIN IMMEDIATE")
        if start_empty:
            db.execute("DELETE FROM users")
        db.executemany(
            "DELETE FROM users WHERE username = ?", [(user,) for user in removed.keys() - changed.keys()]
        )
        # in key order: the table's B-tree grows at its end instead of splitting pages all over it
        if changed:
            columns = ", ".join("?" * len(next(iter(changed.values()))))
            db.executemany(
                f"INSERT OR REPLACE INTO users VALUES ({columns})",  # noqa: S608 (only the placeholders)
                [changed[user] for user in sorted(changed)],
            )
        db.execute("COMMIT")


def sync_shared_user_table(database: Path, passwd_files: list[tuple[Path, RenderedFile]]) -> None:
    """`sync_user_table` for many passwd-files of one shared table, in one transaction (one flush)."""
    sample = passwd_files[0][1]
    layout = user_table_layout(sample.user_database)
    ensure_user_database(database, sample.mode, ownership(sample), layout)
    changed: dict[str, tuple] = {}
    removed: dict[str, tuple] = {}
    for path, wanted in passwd_files:
        try:
            old_lines = set(path.read_bytes().splitlines())
        except FileNotFoundError:
            old_lines = set()
        new_lines = set(wanted.content.splitlines())
        changed |= user_table_rows(b"\n".join(sorted(new_lines - old_lines)), layout)
        removed |= user_table_rows(b"\n".join(sorted(old_lines - new_lines)), layout)
    write_user_rows(database, changed, removed)


def remove_user_rows(root: Path, rel: str, user_tables: dict[str, str]) -> None:
    """Before a passwd-file of a shared user table goes, the rows of its lines leave the table."""
    folder = rel.rpartition("/")[0]
    database = root / user_tables[folder] if folder in user_tables else None
    if database is None or not database.exists():
        return
    try:
        users = passwd_users((root / rel).read_bytes())
    except FileNotFoundError:
        return
    with contextlib.closing(connect(database, isolation_level=None)) as db:
        db.execute("BEGIN IMMEDIATE")
        db.executemany("DELETE FROM users WHERE username = ?", [(user,) for user in users])
        db.execute("COMMIT")


PASSWD_USER = re.compile(rb"^([^:\n]+):", re.MULTILINE)  # a passwd-file line's user


def passwd_users(content: bytes) -> list[str]:
    """The users of a passwd-file's lines."""
    return [user.decode() for user in PASSWD_USER.findall(content)]


def prune_user_table(root: Path, folder: str, database_rel: str, files: dict[str, RenderedFile]) -> int:
    """After the whole host was rendered: delete the rows of users in none of the folder's files (left by a
    layout before this one, or by a crash between a table and its file). Returns how many went."""
    database = root / database_rel
    if not database.exists():
        return 0
    prefix = f"{folder}/"
    wanted = {
        user for rel, file in files.items() if rel.startswith(prefix) for user in passwd_users(file.content)
    }
    with contextlib.closing(connect(database, isolation_level=None)) as db:
        stale = [(user,) for user in {user for (user,) in db.execute("SELECT username FROM users")} - wanted]
        if stale:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("DELETE FROM users WHERE username = ?", stale)
            db.execute("COMMIT")
    return len(stale)


def stale_files(
    root: Path,
    files: dict[str, RenderedFile],
    managed_dirs: Iterable[str],
    *,
    keep_also: Iterable[str] = (),
    skip_dirs: Iterable[str] = (),
    scoped_paths: Iterable[str] = (),
) -> list[str]:
    """Files in the managed folders that the rendering no longer produces.

    A partial rendering (some scopes) passes the folders it renders only part of as `skip_dirs`, and the
    paths its scopes own below them (`<scoped root>/<scope>`, a file or a folder) as `scoped_paths`: only
    those are looked at there."""
    keep = set(files) | set(keep_also)
    keep |= {f"{rel}.db" for rel in keep}
    keep |= {
        f"{rel}{USER_TABLE_SUFFIX}{end}"
        for rel, file in files.items()
        if file.user_table and not file.user_database
        for end in ("", "-journal")
    }
    keep |= {
        f"{file.user_database}{end}"
        for file in files.values()
        if file.user_database
        for end in ("", "-journal")
    }
    skip = {root / rel for rel in skip_dirs}
    stale = []

    def look(top: Path) -> None:
        if top.is_file():
            rel = str(top.relative_to(root))
            if rel not in keep and not top.name.endswith(".tmp"):
                stale.append(rel)
            return
        for directory, subdirs, names in os.walk(top):
            here = Path(directory)
            subdirs[:] = [d for d in subdirs if here / d not in skip]
            for name in names:
                rel = str((here / name).relative_to(root))
                if rel not in keep and not name.endswith(".tmp"):
                    stale.append(rel)

    for managed in managed_dirs:
        if root / managed not in skip:
            look(root / managed)
    for rel in scoped_paths:
        look(root / rel)
    return sorted(set(stale))


def ensure_mail_root(root: Path) -> int:
    """Create the mail root, owned by the mail user, so that Dovecot (running as that user) can make each
    mailbox's home in it, with its domain's folder, on first use; return 1 when it was new."""
    if root.is_dir():
        return 0
    root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(root, settings.MAIL_UID, settings.MAIL_GID)
    return 1


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


# --- parts kept as rows -----------------------------------------------------------------------------------

PARTS_DATABASE = ".postbode/parts.sqlite"
# A table with row ids: its rows (a part, up to a few kilobytes each) are stored whole in its leaf pages, and
# added in key order they fill them (in a table without row ids, a row above about 1 KB spills over into a
# page of its own, and rows added in order leave pages half full). A host's first apply of 100,000 mailboxes
# writes 85,000 rows (65 MB) in 0.56-0.67 s instead of 0.73-0.81 s, 85 MB instead of 97 MB. A store made
# before keeps its table.
# A scope's parts are found by their paths (`<folder>/<scope>`), so the table has no index of its scopes (a store
# made before keeps its `parts_scope` index, unused): filling the store of a first apply of 100,000 mailboxes
# (85,000 parts, 64 MB) took 0.30 s with one and 0.24 s without.
PARTS_SCHEMA = (
    # Pages of 16 KiB in a new store (an existing one keeps its own): its rows are whole files of up to
    # megabytes, each a chain of overflow pages, and a host's first apply writing 85,000 of them (62 MB) took
    # a quarter less CPU than with SQLite's 4 KiB pages (0.28 → 0.22 s; 64 KiB saved 0.01 s more).
    "PRAGMA page_size = 16384",
    "CREATE TABLE IF NOT EXISTS parts (path TEXT PRIMARY KEY, scope TEXT NOT NULL, content BLOB NOT NULL)",
)


class PartStore:
    """Files no program reads, only the apply: the parts of assembled files (one per scope), the passwd-files
    of shared user tables and the apply's lists of mail folders. They are rows of one SQLite database below
    the config folder (`path`, its `scope`: the path's last part, and `content`), so a host with 10,000
    domains writes them in one transaction instead of as 100,000 small files, and a change reads and writes
    the rows of its scopes only."""

    def __init__(self, root: Path):
        self.path = root / PARTS_DATABASE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = connect(self.path, isolation_level=None)
        for statement in PARTS_SCHEMA:
            self.db.execute(statement)
        # It holds the passwd-files' password hashes: the apply's alone (SQLite gives its journal the same mode).
        if self.path.stat().st_mode & 0o077:
            os.chmod(self.path, 0o600)

    def close(self) -> None:
        self.db.close()

    def read(self, folders: Iterable[str], scopes: Iterable[str] | None = None) -> dict[str, bytes]:
        """The parts below `folders`: all of them, or those of `scopes`."""
        folders = tuple(folders)
        if not folders:
            return {}
        scopes = None if scopes is None else tuple(scopes)
        rows: Iterable[tuple[str, bytes]]
        if scopes is None:  # the rows below each folder: a range of the primary key ("/" + 1 is "0")
            rows = [
                row
                for folder in folders
                for row in self.db.execute(
                    "SELECT path, content FROM parts WHERE path >= ? AND path < ?",
                    (f"{folder}/", f"{folder}0"),
                )
            ]
        else:
            rows = [
                row
                for folder in folders
                for scope in scopes
                for row in self.db.execute(
                    "SELECT path, content FROM parts WHERE path = ?", (f"{folder}/{scope}",)
                )
            ]
        prefixes = tuple(f"{folder}/" for folder in folders)
        return {path: bytes(content) for path, content in rows if path.startswith(prefixes)}

    def read_paths(self, paths: Iterable[str]) -> dict[str, bytes]:
        """The parts at these paths (those stored)."""
        rows = [
            row
            for path in paths
            for row in self.db.execute("SELECT path, content FROM parts WHERE path = ?", (path,))
        ]
        return {path: bytes(content) for path, content in rows}

    def write(
        self, changes: dict[str, bytes | None], *, commit_when: Callable[[], bool] | None = None
    ) -> None:
        """Store (or, for None, remove) the parts, in one transaction. Given `commit_when`, the rows are
        written first and the transaction commits only if it then answers true (it may wait for that: see
        `mailhosts.apply.write_host`), else it is rolled back and nothing changes."""
        if not changes:
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(
                "DELETE FROM parts WHERE path = ?", [(p,) for p, c in changes.items() if c is None]
            )
            self.db.executemany(  # in key order, as `write_user_rows`
                "INSERT OR REPLACE INTO parts VALUES (?, ?, ?)",
                [(p, p.rpartition("/")[2], changes[p]) for p in sorted(changes) if changes[p] is not None],
            )
            if commit_when is not None and not commit_when():
                raise PartsNotCommitted("the apply ended before its files were in place")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise


class PartsNotCommitted(RuntimeError):
    """The part store's rows were written but not committed: the files they belong with were not."""


def user_rows_diff(
    old: bytes, new: bytes, new_rows: tuple[tuple, ...] | None = None, layout: UserTable = MAILBOX_USERS
) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """The rows of a passwd-file's changed or new lines, and of its lines that are gone. `new_rows` are the
    rows of `new`'s lines as the renderer made them (`RenderedFile.user_rows`), if it did."""
    if not old:  # a new passwd-file (every one on a host's first apply)
        if new_rows is not None:
            return {row[0]: row for row in new_rows}, {}
        return user_rows_of_lines(new.splitlines(), layout), {}
    old_lines, new_lines = set(old.splitlines()), set(new.splitlines())
    return user_rows_of_lines(new_lines - old_lines, layout), user_rows_of_lines(
        old_lines - new_lines, layout
    )


def sync_stored_user_table(
    database: Path,
    changes: list[tuple[bytes, bytes, tuple[tuple, ...] | None]],
    mode: int,
    ids: tuple[int, int],
    layout: UserTable = MAILBOX_USERS,
) -> None:
    """Change the shared user table by the lines that differ between each stored passwd-file's old and new
    content (with the new content's rows, when rendered: see `user_rows_diff`), in one transaction (a
    passwd-file that is gone has new content b"")."""
    ensure_user_database(database, mode, ids, layout)
    changed: dict[str, tuple] = {}
    removed: dict[str, tuple] = {}
    for old, new, new_rows in changes:
        more, gone = user_rows_diff(old, new, new_rows, layout)
        changed |= more
        removed |= gone
    write_user_rows(database, changed, removed)
