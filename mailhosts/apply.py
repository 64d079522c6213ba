"""Applying a mail host's desired state (DESIGN.md, "The mail backend: desired state, applied by Celery").

`apply_host(host_id)`:
1. takes the host's lock (a PostgreSQL advisory lock, released by the server if the worker dies) or
   raises `HostBusy`;
2. reads the desired revision, then renders the configuration from the database: every change up to
   that revision is committed (services bump the revision on the host row, which serialises them), so the
   rendering contains it; later changes may be in it too, and their own apply will find nothing to do.
   Only the scopes (domains) changed since the applied revision are rendered, when every revision in
   between recorded its scopes (`PendingChange`); otherwise, when forced, or on a host whose files are in
   an older layout, the whole host;
3. writes only the files that changed, atomically, then makes the assembled files (Postfix maps, OpenDKIM
   tables) whose parts changed from the parts on disk (a large Postfix map is changed in place, at the cost
   of the change: `IndexedFile.patch`); makes sure the mail root exists (a mailbox's home,
   with its domain's folder, is made by Dovecot on its first delivery or login) and removes the folders of
   mailboxes purged since the last apply;
4. runs `postmap` for the hash maps and the host's reload steps when a file that needs them changed (not
   for Dovecot's user table and passwd-files, which Dovecot reads by itself: a password change reloads
   nothing); a marker file makes sure a reload that did not finish (a failure, a killed worker) is run
   again by the next apply even if no file changes then;
5. records the revision as applied and clears the error, or stores the error and re-raises.
"""

import contextlib
import logging
import os
import shutil
import subprocess
import threading
import time
from array import array
from bisect import bisect_left
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import accumulate
from operator import add, le
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from tenants.garbage import fewer_collections

from .files import (
    PartStore,
    ensure_mail_root,
    ensure_user_database,
    ids_of,
    ownership,
    plan_changes,
    prune_user_table,
    read_lines,
    remove_mail_folder,
    sync_files,
    sync_stored_user_table,
    write_atomic,
    write_atomic_pieces,
)
from .forking import Beside, GoAhead, worth_forking
from .models import MailHost, PendingChange
from .rendering import (
    MODE_AUTH,
    Assembled,
    HostConfig,
    RenderedFile,
    assemble,
    assembled_files,
    hash_maps,
    is_safe_address,
    is_safe_token,
    is_user_scope,
    managed_dirs,
    parts_by_folder,
    render_host,
    render_user_lines,
    scoped_roots,
    stored_folders,
    user_table_layout,
    user_tables,
    with_related_scopes,
    with_user_lines,
)

logger = logging.getLogger(__name__)

STATE_DIR = ".postbode"
RELOAD_MARKER = f"{STATE_DIR}/reload-pending"
ASSEMBLE_MARKER = f"{STATE_DIR}/assemble-pending"
FOLDER_MANIFEST = f"{STATE_DIR}/mail-folders"  # the layout before scopes: one list for the whole host
FOLDER_MANIFESTS = f"{STATE_DIR}/mail-folders.d"  # the layout before the part store: one file per domain
FOLDER_LISTS = "mail-folders"  # in the part store: one list per domain
ASSEMBLED_INDEX = f"{STATE_DIR}/assembled"  # <file>.index: where each part is in an assembled file
LAYOUT_MARKER = f"{STATE_DIR}/layout"
# Files by scope, parts in the part store, a DKIM key a file per domain (not a folder), the spam filter's
# userdb a SQLite table (not an assembled passwd-file), webmail's signatures a folder per domain (files of
# several signatures, not one per mailbox); the marker also names the host and revision. A host in an older
# layout is rendered whole once.
LAYOUT = "scoped-6"


def layout_marker(host: MailHost, revision: int) -> str:
    return f"{LAYOUT} host={host.pk} revision={revision}\n"


LOCK_NAMESPACE = 0x706F7374  # "post": keeps our advisory locks apart from anyone else's
COMMAND_TIMEOUT = 120


class HostBusy(Exception):
    """Another apply of the same host is running; try again shortly."""


class ApplyError(Exception):
    """A step of the apply failed; the message is what staff see as the host's last error."""


@dataclass
class ApplyResult:
    revision: int = 0
    skipped: bool = False
    changed_files: list[str] = field(default_factory=list)
    scopes: frozenset[str] | None = None  # the domains rendered: None for the whole host
    users: frozenset[str] = frozenset()  # the users whose lines alone were rendered (see is_user_scope)
    created_folders: int = 0
    removed_folders: int = 0
    reloaded: bool = False


_local_locks: dict[int, threading.Lock] = {}


@contextmanager
def host_lock(host_id: int) -> Iterator[None]:
    """One apply per host at a time, across all workers (PostgreSQL) or within this process (SQLite)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, host_id])
            if not cursor.fetchone()[0]:
                raise HostBusy(f"mail host {host_id} is being applied by another worker")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, host_id])
        return
    lock = _local_locks.setdefault(host_id, threading.Lock())
    if not lock.acquire(blocking=False):
        raise HostBusy(f"mail host {host_id} is being applied")
    try:
        yield
    finally:
        lock.release()


def apply_host(host_id: int, *, force: bool = False) -> ApplyResult:
    """Bring the host to its desired revision. `force` re-renders and reloads even when it is up to date."""
    with host_lock(host_id):
        host = MailHost.objects.get(pk=host_id)
        up_to_date = host.applied_revision >= host.desired_revision and not host.last_error
        if not host.enabled or (up_to_date and not force):
            return ApplyResult(revision=host.applied_revision, skipped=True)
        revision = host.desired_revision
        try:
            scopes = None if force else changed_scopes(host, revision)
            with fewer_collections():
                result = write_host(host, force=force, scopes=scopes, revision=revision)
        except Exception as error:
            record_failure(host, error)
            raise
        result.revision = revision
        # Together: whoever sees the revision applied (the panel's Live) sees no change of it still pending.
        with transaction.atomic():
            MailHost.objects.filter(pk=host.pk).update(
                applied_revision=Greatest(F("applied_revision"), revision),
                applied_at=timezone.now(),
                last_error="",
                last_error_at=None,
            )
            PendingChange.objects.filter(host_id=host.pk, revision__lte=revision).delete()
        logger.info(
            "applied mail host %s at revision %s (%s): %d files changed",
            host.name,
            revision,
            "whole host" if scopes is None else f"{len(scopes)} scopes",
            len(result.changed_files),
        )
        return result


def changed_scopes(host: MailHost, revision: int) -> frozenset[str] | None:
    """The scopes changed after the applied revision up to `revision` (domains, and users: see
    `is_user_scope`), or None when the whole host must be rendered: its files are in an older layout or are not known to be this host's at its applied revision
    (a new host, a folder restored or shared, an apply that failed after writing), a revision recorded no
    scope (or "anything"), or a scope is not a name that can be part of a path."""
    try:
        if (Path(host.config_dir) / LAYOUT_MARKER).read_text() != layout_marker(host, host.applied_revision):
            return None
    except FileNotFoundError:
        return None
    rows = PendingChange.objects.filter(
        host_id=host.pk, revision__gt=host.applied_revision, revision__lte=revision
    ).values_list("revision", "scope")
    revisions: set[int] = set()
    changed: set[str] = set()
    for number, scope in rows:
        revisions.add(number)
        changed.add(scope)
    if len(revisions) != max(revision - host.applied_revision, 0):
        return None
    users = {scope for scope in changed if is_user_scope(scope)}
    if not all(is_safe_token(scope) for scope in changed - users) or not all(map(is_safe_address, users)):
        return None
    scopes = with_related_scopes(host, frozenset(changed - users))
    if not all(is_safe_token(scope) for scope in scopes):
        return None
    # A user of a domain rendered anyway is in that rendering.
    return scopes | {user for user in users if user.rpartition("@")[2] not in scopes}


def record_failure(host: MailHost, error: Exception) -> None:
    message = str(error) if isinstance(error, ApplyError) else f"{type(error).__name__}: {error}"
    MailHost.objects.filter(pk=host.pk).update(last_error=message[:4000], last_error_at=timezone.now())
    logger.error("applying mail host %s failed: %s", host.name, message)


def write_host(
    host: MailHost, *, force: bool, scopes: frozenset[str] | None = None, revision: int | None = None
) -> ApplyResult:
    revision = host.desired_revision if revision is None else revision
    users = frozenset() if scopes is None else frozenset(filter(is_user_scope, scopes))
    if scopes is not None:
        scopes = scopes - users
    config = render_host(host, scopes)
    root = Path(host.config_dir)
    marker = root / RELOAD_MARKER
    store = PartStore(root)
    postmapping: list[RunningCommand] = []
    # A user table this apply creates holds only the rows it writes: nothing in it to prune.
    new_tables = {database for database in user_tables().values() if not (root / database).exists()}
    try:
        # Files only the apply reads (parts, passwd-files of shared tables) are rows of the part store.
        folders = stored_folders()
        parts = {rel: file for rel, file in config.files.items() if rel.rpartition("/")[0] in folders}
        kept = patched_and_current(root, config) if scopes is None else set()
        on_disk = {rel: file for rel, file in config.files.items() if rel not in parts and rel not in kept}
        old_parts = store.read(folders, None if scopes is None else sorted(scopes))
        folder_lists = read_folder_lists(store, config)
        if users:
            with_users = put_user_lines(host, users, store)
            old_parts.update({rel: old for rel, (old, _new) in with_users.items() if old is not None})
            # a passwd-file left without lines goes, as a whole rendering would have none
            parts.update({rel: new for rel, (_old, new) in with_users.items() if new.content})
            config.files.update(parts)
        # The passwd-files of a user table that does not exist (a new host, or a table lost) all count as
        # changed, so that the table gets every line, not only those that differ from the stored files.
        tables = user_tables()
        refill = {rel for rel in parts if tables.get(rel.rpartition("/")[0]) in new_tables}
        changed_parts = sorted(
            [rel for rel, file in parts.items() if old_parts.get(rel) != file.content or rel in refill]
            + [rel for rel in old_parts if rel not in parts]
        )
        result = ApplyResult(
            changed_files=plan_files(root, on_disk, scopes, kept) + changed_parts, scopes=scopes, users=users
        )
        assemble_marker = root / ASSEMBLE_MARKER
        # files an apply that died before assembling them left named: they are rebuilt whole
        leftover = read_lines(assemble_marker)
        to_assemble = set() if scopes is None else parts_changed(changed_parts) | leftover
        settle_at = None
        stored = set(changed_parts)
        folder_plan: FolderPlan | None = None
        indexed = False
        if result.changed_files:
            if any(needs_reload(config.files.get(rel)) for rel in result.changed_files):
                write_atomic(marker, b"", 0o644)  # before the first file, so a crash after it still reloads
            if to_assemble:  # likewise: parts stored now are assembled even if this apply dies after them
                write_atomic(assemble_marker, "".join(f"{p}\n" for p in sorted(to_assemble)).encode(), 0o644)
            # The files first: a whole host's `postmap` then runs while the SQLite tables fill. A whole large
            # host's Dovecot tables and part store fill in a child process on the other core, from before the
            # files are written. The part store commits last, once the files are in place (`go`), so that an
            # apply that fails before leaves it as it was and the next one writes the same change.
            fork = scopes is None and worth_forking(len(config.mail_folders))
            go = GoAhead()
            filling = Beside(
                fill_tables_then_store, root, parts, old_parts, changed_parts, new_tables, go, fork=fork
            )
            with filling, go:
                disk_changes = [rel for rel in result.changed_files if rel not in stored]
                postmapping = sync_files_then_postmap(
                    host, root, on_disk, disk_changes, scopes, marker, force
                )
                # Dovecot's wait counts from when its files were written, not from the end of the apply: the
                # tables and the part store below take a whole host's first apply a second or more.
                settle_at = settled_after(config.files, disk_changes)
                go.give()
                # While the child writes its last rows and commits: what needs none of them.
                parts_settle_at = settled_after(config.files, changed_parts)
                folder_plan = plan_mail_folders(host, config, folder_lists)
                if scopes is None:
                    write_assembly_indexes(root, config, kept)
                    indexed = True
                filling.result()
            settle_at = parts_settle_at or settle_at
        if to_assemble:
            how = {path: assembled_files()[path] for path in to_assemble}
            new_parts = {rel: parts[rel].content if rel in parts else None for rel in stored}
            assembled = assemble_from_disk(
                root, how, new_parts, store, whole=leftover, postmap=host.postmap_command or None
            )
            if assembled and not marker.exists():  # usually written before the parts were
                write_atomic(marker, b"", 0o644)
            if any(how[path].bump_mtime for path in assembled):
                settle_at = int(time.time()) + 1
            result.changed_files += assembled
        assemble_marker.unlink(missing_ok=True)
        # Every map's source is final now: `postmap` runs while the apply's own bookkeeping is done.
        if not postmapping:
            postmapping = start_postmap(host, root) if marker.exists() or force else []
        if scopes is None:
            if not indexed:
                write_assembly_indexes(root, config, kept)
            for folder, database in user_tables().items():
                if database not in new_tables:
                    prune_user_table(root, folder, database, config.files)
                elif not (root / database).exists():  # no rows (yet): Dovecot still finds its empty table
                    ensure_user_database(
                        root / database,
                        MODE_AUTH,
                        ids_of("", settings.MAILHOST_AUTH_GROUP),
                        user_table_layout(database),
                    )
        if folder_plan is None:
            folder_plan = plan_mail_folders(host, config, folder_lists)
        result.created_folders, result.removed_folders = sync_mail_folders(host, config, store, folder_plan)
    except BaseException:
        stop_commands(postmapping)
        raise
    finally:
        store.close()
    write_hint(root / LAYOUT_MARKER, layout_marker(host, revision).encode())
    finish_commands(postmapping)
    if marker.exists() or force:
        run_postmap(host, root)  # what is still stale (nothing, unless a map changed meanwhile)
        for command in host.reload_commands:
            run_command(command)
        marker.unlink(missing_ok=True)
        result.reloaded = True
    if settle_at is not None:
        wait_for_dovecot_resync(settle_at)
    return result


def sync_files_then_postmap(
    host: MailHost,
    root: Path,
    files: dict[str, RenderedFile],
    changes: list[str],
    scopes: frozenset[str] | None,
    marker: Path,
    force: bool,
) -> list["RunningCommand"]:
    """`sync_files` of the changes; when a whole host's hash maps were among them, their `postmap` is
    started at once (and returned), so that it runs while the SQLite tables fill. A partial rendering's maps
    are assembled later: nothing is started then."""
    sync_files(root, files, changes, user_tables())
    maps = scopes is None and any(rel in files for rel in changes if rel in hash_maps())
    return start_postmap(host, root) if maps and (marker.exists() or force) else []


def put_user_lines(
    host: MailHost, users: frozenset[str], store: PartStore
) -> dict[str, tuple[bytes | None, RenderedFile]]:
    """The stored passwd-files of these users' domains, as they are and with the users' lines rendered
    anew put in: {file: (old content or None, new file)}. Only the users' rows are then written."""
    lines = render_user_lines(host, users)
    old = store.read_paths(sorted(lines))
    return {
        rel: (
            old.get(rel),
            replace(part.file, content=with_user_lines(old.get(rel, b""), part), user_rows=None),
        )
        for rel, part in lines.items()
    }


def fill_tables_then_store(
    root: Path,
    parts: dict[str, RenderedFile],
    old_parts: dict[str, bytes],
    changed: list[str],
    new_tables: Collection[str],
    go: GoAhead,
) -> None:
    """The shared user tables changed by the passwd-files that changed (`sync_stored_user_tables`), then the
    changed parts written to the part store, whose transaction commits only when `go` says the apply's files
    are in place (a first apply of 100,000 mailboxes writes 85,000 parts meanwhile, on the other core)."""
    sync_stored_user_tables(root, parts, old_parts, changed, new_tables)
    store = PartStore(root)  # its own connection: in a forked child, the parent's is not to be used
    try:
        store.write(
            {rel: parts[rel].content if rel in parts else None for rel in changed}, commit_when=go.wait
        )
    finally:
        store.close()


def sync_stored_user_tables(
    root: Path,
    parts: dict[str, RenderedFile],
    old_parts: dict[str, bytes],
    changed: list[str],
    new_tables: Collection[str] = (),
) -> None:
    """Change the shared user tables by the lines of their stored passwd-files that changed (all lines of
    the tables in `new_tables`, which do not exist yet)."""
    tables = user_tables()
    by_database: dict[str, list[tuple[bytes, bytes, tuple[tuple, ...] | None]]] = {}
    for rel in changed:
        folder = rel.rpartition("/")[0]
        if folder in tables:
            new, rows = (parts[rel].content, parts[rel].user_rows) if rel in parts else (b"", None)
            old = b"" if tables[folder] in new_tables else old_parts.get(rel, b"")
            by_database.setdefault(tables[folder], []).append((old, new, rows))
    for database, changes in by_database.items():
        sample = next((file for file in parts.values() if file.user_database == database), None)
        mode, ids = (sample.mode, ownership(sample)) if sample else (0o640, (-1, -1))
        sync_stored_user_table(root / database, changes, mode, ids, user_table_layout(database))


def write_hint(path: Path, content: bytes) -> None:
    """Replace a small state file atomically but without waiting for the disk: after a crash it may be
    old or missing, and either only makes the next apply render the whole host."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(content)
    temporary.replace(path)


def plan_files(
    root: Path, files: dict[str, RenderedFile], scopes: frozenset[str] | None, kept: Collection[str] = ()
) -> list[str]:
    """The files on disk to write or remove (the stored parts are compared in the part store; the `kept`
    files stay as they are)."""
    # The shared user tables stay even when this rendering has none of their passwd-files.
    tables = [f"{database}{end}" for database in user_tables().values() for end in ("", "-journal")]
    if scopes is None:
        return plan_changes(root, files, managed_dirs(), keep_also=[*tables, *kept])
    roots = scoped_roots()
    folders = stored_folders()
    return plan_changes(
        root,
        files,
        managed_dirs(),
        keep_also=[*assembled_files(), *tables],
        skip_dirs=roots,
        scoped_paths=[
            f"{folder}/{scope}" for folder in roots if folder not in folders for scope in sorted(scopes)
        ],
    )


def parts_changed(changed_files: list[str]) -> set[str]:
    """The assembled files whose parts are among the changed files."""
    return {
        path
        for path, how in assembled_files().items()
        if any(rel.startswith(f"{how.parts}/") for rel in changed_files)
    }


def assemble_from_disk(
    root: Path,
    files: dict[str, Assembled],
    changed: dict[str, bytes | None],
    store: PartStore,
    *,
    whole: set[str] | None = None,
    postmap: list[str] | None = None,
) -> list[str]:
    """Bring each assembled file up to date with its parts; return the ones that changed.

    The `changed` parts (relative path -> new content, None when gone) are spliced into the file where its
    index (`ASSEMBLED_INDEX`) says they are, so adding one mailbox touches one part, not one per domain (the
    bytes around it are copied). Without a usable index (none, or one that does not describe the file as it
    is), or for the files in `whole`, every part is read from the part store. A Postfix hash map whose
    database was up to date with the old file gets only the changed lines (`postmap -i`, `postmap -d`, see
    `update_map_in_place`) instead of being rebuilt whole; from `MAILHOST_PATCH_MIN_BYTES` on, its source is
    then patched where it is instead of copied (`IndexedFile.patch`).
    """
    result = []
    spliced = []
    for path, how in sorted(files.items()):
        prefix = f"{how.parts}/"
        target = root / path
        indexed = None if path in (whole or set()) else read_index(root, path)
        if indexed is not None:  # the file is its indexed parts: it changes where a part changed
            mine = {rel[len(prefix) :]: content for rel, content in changed.items() if rel.startswith(prefix)}
            in_place = bool(postmap) and path in hash_maps() and database_is_current(root, path)
            # A large hash map that `postmap` changes in place is changed in place too: no copy of it.
            patched = (
                indexed.patch(mine)
                if in_place and not how.bump_mtime and indexed.size >= settings.MAILHOST_PATCH_MIN_BYTES
                else None
            )
            writes, index, old, new = patched or indexed.splice(mine)
            if old != new:
                spliced.append(
                    (path, how, writes, index, (old, new) if in_place else None, patched is not None)
                )
            continue
        parts = {rel[len(prefix) :]: content for rel, content in store.read([how.parts]).items()}
        content = assemble(parts)
        try:
            unchanged = target.read_bytes() == content
        except FileNotFoundError:
            unchanged = False
        if not unchanged:
            write_atomic(target, content, how.mode, bump_mtime=how.bump_mtime)
            result.append(path)
        write_index(root, path, Index.of_parts(parts))
    # The spliced files side by side: copying, flushing to the disk and `postmap -i` wait outside Python, so
    # a new mailbox's three maps take about as long as the largest of them.
    with ThreadPoolExecutor(max_workers=max(len(spliced), 1)) as threads:
        writing = [threads.submit(write_spliced, root, postmap, *job) for job in spliced]
        wait(writing)
    for future in writing:
        future.result()  # the first failure, once none is still writing
    return sorted(result + [path for path, *_ in spliced])


def write_spliced(
    root: Path,
    postmap: list[str] | None,
    path: str,
    how: Assembled,
    writes: list,
    index: "Index",
    in_place: tuple[dict[str, bytes], dict[str, bytes]] | None,
    patched: bool,
) -> None:
    """Write an assembled file, from its spliced pieces (or patched: its writes into the file as it is),
    change its hash map's database by the changed parts' lines when it was up to date with the old file, and
    write its index."""
    target = root / path
    if patched:
        patch_file(target, writes)
    else:
        write_atomic_pieces(target, writes, how.mode, bump_mtime=how.bump_mtime)
    if in_place and postmap:
        old, new = in_place
        update_map_in_place(postmap, target, b"".join(old.values()), b"".join(new.values()))
    write_index(root, path, index, compare=False)


def patch_file(target: Path, writes: list[tuple[int, bytes]]) -> None:
    """Write the bytes at their offsets into the file as it is, then flush it to the disk (its changed pages
    only). Not atomic: the apply's marker (`ASSEMBLE_MARKER`) names the file until it is done, so that after
    a crash the next apply makes it whole from its parts."""
    fd = os.open(target, os.O_WRONLY)
    try:
        for offset, data in writes:
            view = memoryview(data)
            while view:
                written = os.pwrite(fd, view, offset)
                view, offset = view[written:], offset + written
        if settings.MAILHOST_FSYNC:
            os.fsync(fd)
    finally:
        os.close(fd)


def database_is_current(root: Path, path: str) -> bool:
    """Whether the hash map's `.db` holds its source as it is now (before the source is rewritten)."""
    try:
        return (root / f"{path}.db").stat().st_mtime_ns >= (root / path).stat().st_mtime_ns
    except FileNotFoundError:
        return False


def update_map_in_place(postmap: list[str], source: Path, old: bytes, new: bytes) -> None:
    """Change a hash map's database by the lines that differ: `postmap -i -r` adds or replaces the new and
    changed entries, `postmap -d -` removes the keys that are gone (Postfix locks the database meanwhile,
    and its daemons notice the change). Should either fail, the map is rebuilt whole from its source."""
    old_entries = dict(line.split(maxsplit=1) for line in old.decode().splitlines() if line.strip())
    new_entries = dict(line.split(maxsplit=1) for line in new.decode().splitlines() if line.strip())
    upserts = [f"{key} {value}\n" for key, value in new_entries.items() if old_entries.get(key) != value]
    removals = [f"{key}\n" for key in old_entries.keys() - new_entries.keys()]
    try:
        if removals:
            run_command([*postmap, "-d", "-", f"hash:{source}"], stdin="".join(removals))
        if upserts:
            # -r: an entry already there is replaced (without it postmap keeps the old value and warns)
            run_command([*postmap, "-i", "-r", f"hash:{source}"], stdin="".join(upserts))
    except ApplyError as error:
        logger.warning("changing %s in place failed (%s); rebuilding it whole", source, error)
        run_command([*postmap, f"hash:{source}"])


def index_path(root: Path, path: str) -> Path:
    return root / ASSEMBLED_INDEX / f"{path}.index"


FILLER_LINE = b"#" + b" " * 62 + b"\n"


def filler(size: int) -> bytes:
    """`size` bytes that Postfix's `postmap` reads as nothing: comment lines of up to 64 bytes (`#` and
    spaces), the last one shorter or empty."""
    full, rest = divmod(size, len(FILLER_LINE))
    return FILLER_LINE * full + (
        b"" if rest == 0 else b"\n" if rest == 1 else b"#" + b" " * (rest - 2) + b"\n"
    )


@dataclass
class Index:
    """Where each part of an assembled file is: its name (sorted), its offset, its length and its slot (the
    bytes it may take; after its content a `filler`). Compact: the parts one after the other, in the order
    of their names, without filler, as `assemble` writes them."""

    names: list[str]
    offsets: array
    lengths: array
    slots: array
    compact: bool

    @classmethod
    def of_parts(cls, parts: dict[str, bytes]) -> "Index":
        names = sorted(parts)
        lengths = array("q", (len(parts[name]) for name in names))
        return cls.of_lengths(names, lengths)

    @classmethod
    def of_lengths(cls, names: list[str], lengths: array) -> "Index":
        offsets = array("q", accumulate(lengths, initial=0))
        offsets.pop()
        return cls(names, offsets, lengths, array("q", lengths), compact=True)

    def encode(self) -> bytes:
        arrays = b"".join(numbers.tobytes() for numbers in (self.offsets, self.lengths, self.slots))
        return b"".join(
            [b"compact\n" if self.compact else b"patched\n", "\n".join(self.names).encode(), b"\0", arrays]
        )

    @classmethod
    def decode(cls, content: bytes, size: int) -> "Index | None":
        kind, _, rest = content.partition(b"\n")
        names_block, separator, numbers = rest.partition(b"\0")
        if kind not in (b"compact", b"patched") or not separator:
            return None
        names = names_block.decode().split("\n") if names_block else []
        count = len(names)
        if len(numbers) != 24 * count:
            return None
        offsets, lengths, slots = array("q"), array("q"), array("q")
        for numbers_of, at in ((offsets, 0), (lengths, 1), (slots, 2)):
            numbers_of.frombytes(numbers[8 * count * at : 8 * count * (at + 1)])
        index = cls(names, offsets, lengths, slots, compact=kind == b"compact")
        if index.compact:
            fits = (offsets[-1] + lengths[-1] if count else 0) == size and lengths == slots
        else:
            fits = max(map(add, offsets, slots), default=0) <= size and all(map(le, lengths, slots))
        return index if fits else None


@dataclass
class IndexedFile:
    """An assembled file as its index describes it."""

    path: Path
    index: Index
    size: int

    def part(self, file, at: int, index: "Index | None" = None) -> bytes:
        """The content of the part at `at` of the index (this file's, or one being changed from it)."""
        index = index or self.index
        length = index.lengths[at]
        return os.pread(file.fileno(), length, index.offsets[at]) if length else b""

    def all_parts(self) -> dict[str, bytes]:
        """Every part by name, from one read of the file."""
        content = self.path.read_bytes()
        index = self.index
        return {
            name: content[offset : offset + length]
            for name, offset, length in zip(index.names, index.offsets, index.lengths, strict=True)
        }

    def splice(
        self, changes: dict[str, bytes | None]
    ) -> tuple[list[bytes | tuple[int, int]], Index, dict[str, bytes], dict[str, bytes]]:
        """The file with the changed parts (None: gone) put in their places, compact, as pieces (new bytes,
        or a range (offset, length) of the file as it is), its index, and the changed parts' old and new
        content. On a compact file this costs the change: the bytes around it are not read
        (`write_atomic_pieces` copies them); a patched one is read whole and made compact."""
        index = self.index
        old: dict[str, bytes] = {}
        new: dict[str, bytes] = {}
        with self.path.open("rb") as file:
            found: dict[str, bool] = {}
            for name in changes:
                at = bisect_left(index.names, name)
                found[name] = at < len(index.names) and index.names[at] == name
                old[name] = self.part(file, at) if found[name] else b""
                new[name] = changes[name] or b""
        if not index.compact:
            parts: dict[str, bytes | None] = {**self.all_parts(), **changes}
            kept = {name: part for name, part in parts.items() if part is not None}
            return [assemble(kept)], Index.of_parts(kept), old, new
        pieces: list[bytes | tuple[int, int]] = []
        position = 0
        for name in sorted(changes):
            at = bisect_left(index.names, name)
            start = index.offsets[at] if at < len(index.names) else self.size
            pieces += [(position, start - position), new[name]]
            position = start + (index.lengths[at] if found[name] else 0)
        pieces.append((position, self.size - position))
        names, lengths = list(index.names), array("q", index.lengths)
        for name in sorted(changes, reverse=True):  # from the end, so the earlier places stay right
            at = bisect_left(names, name)
            if changes[name] is None:
                if found[name]:
                    del names[at], lengths[at]
            elif found[name]:
                lengths[at] = len(new[name])
            else:
                names.insert(at, name)
                lengths.insert(at, len(new[name]))
        return pieces, Index.of_lengths(names, lengths), old, new

    def patch(
        self, changes: dict[str, bytes | None]
    ) -> tuple[list[tuple[int, bytes]], Index, dict[str, bytes], dict[str, bytes]] | None:
        """The changes as writes into the file as it is (offset, bytes), its index after them, and the
        changed parts' old and new content: a part that still fits its slot is written over its old content
        (the rest of the slot a `filler`), any other goes to the end of the file with a quarter more room,
        and the slot it leaves (or a gone part's) is filled. Costs the change, whatever the file's size.
        None when the file would be mostly filler (it is then spliced, and so made compact again) or a part
        is not whole lines."""
        index = Index(
            list(self.index.names),
            array("q", self.index.offsets),
            array("q", self.index.lengths),
            array("q", self.index.slots),
            compact=False,
        )
        writes: list[tuple[int, bytes]] = []
        old: dict[str, bytes] = {}
        new: dict[str, bytes] = {}
        size = self.size
        with self.path.open("rb") as file:
            if size and os.pread(file.fileno(), 1, size - 1) != b"\n":
                return None
            for name in sorted(changes):
                content = changes[name]
                at = bisect_left(index.names, name)
                found = at < len(index.names) and index.names[at] == name
                old[name] = self.part(file, at, index) if found else b""
                new[name] = content or b""
                if any(part and not part.endswith(b"\n") for part in (old[name], new[name])):
                    return None
                if found and index.offsets[at] and os.pread(file.fileno(), 1, index.offsets[at] - 1) != b"\n":
                    return None  # the part before it does not end its line
                if found and content is not None and len(content) <= index.slots[at]:
                    writes.append((index.offsets[at], content + filler(index.slots[at] - len(content))))
                    index.lengths[at] = len(content)
                    continue
                if found:
                    writes.append((index.offsets[at], filler(index.slots[at])))
                    if content is None:
                        del index.names[at], index.offsets[at], index.lengths[at], index.slots[at]
                        continue
                if content is None:
                    continue
                slot = len(content) + len(content) // 4
                writes.append((size, content + filler(slot - len(content))))
                if found:
                    index.offsets[at], index.lengths[at], index.slots[at] = size, len(content), slot
                else:
                    index.names.insert(at, name)
                    index.offsets.insert(at, size)
                    index.lengths.insert(at, len(content))
                    index.slots.insert(at, slot)
                size += slot
        if 2 * sum(index.lengths) < size:
            return None
        return writes, index, old, new


# An index file: the header line (the file's size, mtime and inode), then `Index.encode`: whether the file is
# compact, the parts' names one per line, a NUL, then their offsets, lengths and slots as 64-bit integers.
# Read without a loop in Python: about 5 ms for 40,000 parts, where a text row per part took 21 ms (three
# maps of a 300,000-mailbox host are read for every change of a domain's maps).
def read_index(root: Path, path: str) -> IndexedFile | None:
    """The assembled file as its index describes it; None when the index does not fit the file."""
    try:
        content = index_path(root, path).read_bytes()
        status = (root / path).stat()
    except FileNotFoundError:
        return None
    header, _, rest = content.partition(b"\n")
    if header != f"{status.st_size} {status.st_mtime_ns} {status.st_ino}".encode():
        return None
    try:
        index = Index.decode(rest, status.st_size)
    except (ValueError, UnicodeDecodeError):
        return None
    return IndexedFile(root / path, index, status.st_size) if index is not None else None


def write_index(root: Path, path: str, index: Index, *, compare: bool = True) -> None:
    """The index of an assembled file as it is now: its size, mtime and inode, then `index`."""
    status = (root / path).stat()
    content = f"{status.st_size} {status.st_mtime_ns} {status.st_ino}\n".encode() + index.encode()
    if compare:  # a file just spliced or patched is a new one: its index differs from the old
        with contextlib.suppress(FileNotFoundError):
            if index_path(root, path).read_bytes() == content:
                return
    # A hint, not waited for: an index lost or left old by a crash does not fit the file's size, mtime and
    # inode in its first line, and the file is then made from the part store.
    write_hint(index_path(root, path), content)


def write_assembly_indexes(root: Path, config: HostConfig, kept: Collection[str] = ()) -> None:
    """After the whole host was written: the index of every assembled file, from the rendered parts (but
    the `kept` patched files', which still describe them)."""
    by_folder = (
        config.assembled_parts if config.assembled_parts is not None else parts_by_folder(config.files)
    )
    for path, how in assembled_files().items():
        if path not in kept and (root / path).exists():
            write_index(root, path, Index.of_parts(by_folder.get(how.parts, {})))


def patched_and_current(root: Path, config: HostConfig) -> set[str]:
    """The patched assembled files (see `IndexedFile.patch`) that hold exactly the parts of this whole
    rendering, though not in its order and with filler between them: a whole rendering keeps them as they
    are instead of writing them again (and rebuilding their hash maps whole)."""
    kept = set()
    by_folder = config.assembled_parts or {}
    for path, how in assembled_files().items():
        indexed = read_index(root, path)
        wanted = config.files.get(path)
        if indexed is None or indexed.index.compact or wanted is None:
            continue
        same_mode = (root / path).stat().st_mode & 0o777 == wanted.mode
        if same_mode and indexed.all_parts() == by_folder.get(how.parts, {}):
            kept.add(path)
    return kept


def needs_reload(file: RenderedFile | None) -> bool:
    """Whether writing (or removing) a file needs `postmap` and the reload steps. Dovecot reads its user
    table and passwd-files by itself on the next lookup; a password or quota change reloads nothing."""
    return file is None or not (file.user_table or file.bump_mtime)


def settled_after(files: dict[str, RenderedFile], written: Iterable[str]) -> int | None:
    """The whole second from which a running Dovecot is sure to see `written`, just written, or None when
    none of them is a file Dovecot checks by its mtime (`RenderedFile.bump_mtime`)."""
    if any(files[rel].bump_mtime for rel in written if rel in files):
        return int(time.time()) + 1
    return None


def wait_for_dovecot_resync(settle_at: int) -> None:
    """Dovecot stats a passwd-file at most once per second of its event loop: a lookup in the same second
    as one before our write still uses the old file. Only from the next whole second on is the change
    certain to be seen, so "live" is recorded no earlier (at most a second's wait).
    """
    remaining = settle_at - time.time()
    if remaining > 0:
        time.sleep(remaining)


@dataclass
class FolderPlan:
    """What `sync_mail_folders` does: the mail folders to remove (below the mail root) and the folder lists
    to store (None: remove the list)."""

    remove: list[str]
    lists: dict[str, bytes | None]


def read_folder_lists(store: PartStore, config: HostConfig) -> dict[str, bytes]:
    """The stored lists of mail folders of the rendered domains (of every domain, for a whole rendering)."""
    if config.scopes is None:
        return store.read([FOLDER_LISTS])
    return store.read([FOLDER_LISTS], sorted(config.scopes))


def plan_mail_folders(host: MailHost, config: HostConfig, lists: dict[str, bytes]) -> FolderPlan:
    """The folders of mailboxes that no longer exist at all (known before by `lists`, the stored lists, or
    by the layouts before them, and not now) and the lists to store instead. Changes nothing."""
    config_dir = Path(host.config_dir)
    known_now: dict[str, list[str]] = {}  # sorted, as each list is written
    for folder in sorted(config.known_folders):
        known_now.setdefault(folder.partition("/")[0], []).append(folder)
    earlier: dict[str, set[str]] = {}
    if config.scopes is None:
        # the layouts before: one list for the whole host, or one file per domain
        for folder in read_lines(config_dir / FOLDER_MANIFEST):
            earlier.setdefault(folder.partition("/")[0], set()).add(folder)
        manifests = config_dir / FOLDER_MANIFESTS
        for path in manifests.iterdir() if manifests.is_dir() else []:
            earlier.setdefault(path.name, set()).update(read_lines(path))
        domains = set(known_now) | {rel.rpartition("/")[2] for rel in lists} | set(earlier)
    else:
        domains = set(config.scopes)
    plan = FolderPlan(remove=[], lists={})
    for domain in sorted(domains):
        rel = f"{FOLDER_LISTS}/{domain}"
        stored = lists.get(rel)
        before = set(stored.decode().splitlines()) if stored else set()
        before |= earlier.get(domain, set())
        now = known_now.get(domain, [])
        plan.remove += sorted(before.difference(now)) if before else ()
        content = ("\n".join(now) + "\n").encode() if now else b""
        if now and stored != content:
            plan.lists[rel] = content
        elif not now and rel in lists:
            plan.lists[rel] = None
    return plan


def sync_mail_folders(
    host: MailHost, config: HostConfig, store: PartStore, plan: FolderPlan
) -> tuple[int, int]:
    """Make sure the mail root exists, the mail user's (Dovecot makes a mailbox's home in it, with its
    domain's folder, on the first delivery or login: not one folder per domain on the first apply); remove
    the folders of mailboxes that no longer exist at all (purged). A list per domain in the part store
    (`FOLDER_LISTS/<domain>`) names the mailboxes the last apply knew: `plan` (`plan_mail_folders`) says
    which folders go and which lists change. Returns (folders made, removed).

    Only folders this code listed earlier are ever removed, so a mistake in the data cannot wipe mail it
    never knew about.
    """
    root = host.mail_root
    removed = sum(remove_mail_folder(root, root / folder) for folder in plan.remove)
    store.write(plan.lists)
    if config.scopes is None:
        config_dir = Path(host.config_dir)
        (config_dir / FOLDER_MANIFEST).unlink(missing_ok=True)
        shutil.rmtree(config_dir / FOLDER_MANIFESTS, ignore_errors=True)
    return (ensure_mail_root(root) if config.mail_folders else 0), removed


def stale_maps(host: MailHost, root: Path) -> list[str]:
    """The hash maps whose `.db` is missing or older than its source."""
    if not host.postmap_command:
        return []
    stale = []
    for rel in hash_maps():
        source, db = root / rel, root / f"{rel}.db"
        if not db.exists() or db.stat().st_mtime_ns < source.stat().st_mtime_ns:
            stale.append(f"hash:{source}")
    return stale


def run_postmap(host: MailHost, root: Path) -> None:
    """Rebuild every hash map whose `.db` is missing or older than its source."""
    stale = stale_maps(host, root)
    if stale:
        run_command([*host.postmap_command, *stale])


@dataclass
class RunningCommand:
    command: list[str]
    process: subprocess.Popen
    started: float


# `postmap` runs beside the apply's own work (Dovecot's table, the part store): at a lower priority, so that
# the five of a whole host's first apply take the spare core instead of sharing the apply's. At 100,000
# mailboxes that made filling Dovecot's table 0.40-0.47 s instead of 0.57-0.61 s (bench/README.md, seventh step).
POSTMAP_NICENESS = 10


def start_postmap(host: MailHost, root: Path) -> list[RunningCommand]:
    """Start rebuilding the stale hash maps, one `postmap` per map side by side (the first apply builds
    five maps of a whole host); `finish_commands` waits for them."""
    running: list[RunningCommand] = []
    try:
        for source in stale_maps(host, root):
            command = [*host.postmap_command, source]
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            running.append(RunningCommand(command, process, time.monotonic()))
            with contextlib.suppress(ProcessLookupError):  # one that is already done
                niceness = min(os.getpriority(os.PRIO_PROCESS, 0) + POSTMAP_NICENESS, 19)
                os.setpriority(os.PRIO_PROCESS, process.pid, niceness)
    except OSError as error:
        stop_commands(running)
        raise ApplyError(f"{' '.join(command)}: {error}") from error
    return running


def finish_commands(running: list[RunningCommand]) -> None:
    """Wait for the commands; an ApplyError as `run_command`'s for the first that failed (all are waited for)."""
    failure = None
    for item in running:
        left = max(COMMAND_TIMEOUT - (time.monotonic() - item.started), 0)
        try:
            stdout, stderr = item.process.communicate(timeout=left)
        except subprocess.TimeoutExpired as error:
            item.process.kill()
            item.process.communicate()
            failure = failure or ApplyError(f"{' '.join(item.command)}: {error}")
            continue
        if item.process.returncode != 0 and failure is None:
            failure = command_failed(item.command, item.process.returncode, stdout, stderr)
    if failure is not None:
        raise failure


def stop_commands(running: list[RunningCommand]) -> None:
    """After a failure elsewhere: end the commands started and reap them."""
    for item in running:
        item.process.kill()
        item.process.communicate()


def run_command(command: list[str], *, stdin: str | None = None) -> None:
    try:
        completed = subprocess.run(
            command, input=stdin, capture_output=True, text=True, timeout=COMMAND_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ApplyError(f"{' '.join(command)}: {error}") from error
    if completed.returncode != 0:
        raise command_failed(command, completed.returncode, completed.stdout, completed.stderr)


def command_failed(command: list[str], status: int, stdout: str, stderr: str) -> ApplyError:
    """The error of a command that exited with `status`, with the end of what it said."""
    output = (stderr or stdout).strip()[-2000:]
    return ApplyError(f"{' '.join(command)} exited with status {status}: {output}")
