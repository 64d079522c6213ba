"""Applying a mail host's desired state (DESIGN.md, "The mail backend: desired state, applied by Celery").

`apply_host(host_id)`:
1. takes the host's lock (a PostgreSQL advisory lock, released by the server if the worker dies) or
   raises `HostBusy`;
2. reads the desired revision, then renders the whole configuration from the database: every change up to
   that revision is committed (services bump the revision on the host row, which serialises them), so the
   rendering contains it; later changes may be in it too, and their own apply will find nothing to do;
3. writes only the files that changed, atomically; creates folders of new mailboxes and removes the folders
   of mailboxes purged since the last apply;
4. runs `postmap` for the hash maps and the host's reload steps when a file that needs them changed (not
   for Dovecot's user table and passwd-files, which Dovecot reads by itself: a password change reloads
   nothing); a marker file makes sure a reload that did not finish (a failure, a killed worker) is run
   again by the next apply even if no file changes then;
5. records the revision as applied and clears the error, or stores the error and re-raises.
"""

import logging
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from .files import ensure_mail_folders, plan_changes, read_lines, remove_mail_folder, sync_files, write_atomic
from .models import MailHost
from .rendering import HostConfig, RenderedFile, hash_maps, managed_dirs, render_host

logger = logging.getLogger(__name__)

STATE_DIR = ".postbode"
RELOAD_MARKER = f"{STATE_DIR}/reload-pending"
FOLDER_MANIFEST = f"{STATE_DIR}/mail-folders"
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
            result = write_host(host, force=force)
        except Exception as error:
            record_failure(host, error)
            raise
        result.revision = revision
        MailHost.objects.filter(pk=host.pk).update(
            applied_revision=Greatest(F("applied_revision"), revision),
            applied_at=timezone.now(),
            last_error="",
            last_error_at=None,
        )
        logger.info(
            "applied mail host %s at revision %s: %d files changed",
            host.name,
            revision,
            len(result.changed_files),
        )
        return result


def record_failure(host: MailHost, error: Exception) -> None:
    message = str(error) if isinstance(error, ApplyError) else f"{type(error).__name__}: {error}"
    MailHost.objects.filter(pk=host.pk).update(last_error=message[:4000], last_error_at=timezone.now())
    logger.error("applying mail host %s failed: %s", host.name, message)


def write_host(host: MailHost, *, force: bool) -> ApplyResult:
    config = render_host(host)
    root = Path(host.config_dir)
    marker = root / RELOAD_MARKER
    result = ApplyResult(changed_files=plan_changes(root, config.files, managed_dirs()))
    settle_at = None
    if result.changed_files:
        if any(needs_reload(config.files.get(rel)) for rel in result.changed_files):
            write_atomic(marker, b"", 0o644)  # before the first file, so a crash after it still reloads
        sync_files(root, config.files, result.changed_files)
        if any(config.files[rel].bump_mtime for rel in result.changed_files if rel in config.files):
            settle_at = int(time.time()) + 1
    result.created_folders, result.removed_folders = sync_mail_folders(host, config)
    if marker.exists() or force:
        run_postmap(host, root)
        for command in host.reload_commands:
            run_command(command)
        marker.unlink(missing_ok=True)
        result.reloaded = True
    if settle_at is not None:
        wait_for_dovecot_resync(settle_at)
    return result


def needs_reload(file: RenderedFile | None) -> bool:
    """Whether writing (or removing) a file needs `postmap` and the reload steps. Dovecot reads its user
    table and passwd-files by itself on the next lookup; a password or quota change reloads nothing."""
    return file is None or not (file.user_table or file.bump_mtime)


def wait_for_dovecot_resync(settle_at: int) -> None:
    """Dovecot stats a passwd-file at most once per second of its event loop: a lookup in the same second
    as one before our write still uses the old file. Only from the next whole second on is the change
    certain to be seen, so "live" is recorded no earlier (at most a second's wait).
    """
    remaining = settle_at - time.time()
    if remaining > 0:
        time.sleep(remaining)


def sync_mail_folders(host: MailHost, config: HostConfig) -> tuple[int, int]:
    """Create the folders of mailboxes new since the last apply; remove those of mailboxes that no longer
    exist at all (purged). The manifest lists what the last apply knew.

    Only folders this code listed earlier are ever removed, so a mistake in the data cannot wipe mail it
    never knew about. A missing manifest (first apply) means every folder is checked.
    """
    root = host.mail_root
    manifest = Path(host.config_dir) / FOLDER_MANIFEST
    known_before = read_lines(manifest)
    created = ensure_mail_folders(root, sorted(config.mail_folders - known_before))
    removed = 0
    for folder in sorted(known_before - config.known_folders):
        removed += remove_mail_folder(root, root / folder)
    if known_before != config.known_folders:
        listing = "".join(f"{folder}\n" for folder in sorted(config.known_folders)).encode()
        write_atomic(manifest, listing, 0o644)
    return created, removed


def run_postmap(host: MailHost, root: Path) -> None:
    """Rebuild every hash map whose `.db` is missing or older than its source."""
    if not host.postmap_command:
        return
    stale = []
    for rel in hash_maps():
        source, db = root / rel, root / f"{rel}.db"
        if not db.exists() or db.stat().st_mtime_ns < source.stat().st_mtime_ns:
            stale.append(f"hash:{source}")
    if stale:
        run_command([*host.postmap_command, *stale])


def run_command(command: list[str]) -> None:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ApplyError(f"{' '.join(command)}: {error}") from error
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout).strip()[-2000:]
        raise ApplyError(f"{' '.join(command)} exited with status {completed.returncode}: {output}")
