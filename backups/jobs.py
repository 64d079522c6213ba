"""The work done on the mail host's queue (and the nightly database dump), called by tasks.py.

- `backup_host`: one night's snapshot of a mail host, `forget` keeping 30 daily snapshots, the catalogue;
- `run_restore`: mail from a snapshot into a new folder `Hersteld <date>` through `doveadm import`;
- `check_backup_health` and `open_alert`: alerts for staff;
- `dump_database` / `restore_database`: the panel's own database (pg_dump, custom format).
"""

import contextlib
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import dj_database_url
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.formats import number_format

from mailaccounts.models import Mailbox
from mailhosts.models import MailHost
from tenants.audit import Actor, record
from tenants.emails import send_customer_email, send_template_email, site_link
from tenants.models import Membership

from . import maildir
from .doveadm import EXPUNGED_PREFIX, NOT_FOUND, DoveadmCommand, DoveadmError
from .models import BackupAlert, BackupRun, DatabaseDump, Restore, Snapshot, SnapshotMailbox
from .restic import Repository, ResticError
from .sources import paths_to_back_up

logger = logging.getLogger(__name__)

MB = 1024 * 1024
STALE_AFTER = timedelta(hours=6)  # a run still "running" this long was interrupted (a killed worker)
# Messages per `doveadm import` (one process each): the progress the page shows moves this often. A
# thousand take about a second; every further process costs a start and a fresh look at the copy.
IMPORT_BATCH = 1000
FSYNC_THREADS = 16  # fsyncs in flight at once after an import (the file system commits them together)


class BackupBusy(Exception):
    """A backup of this host is already running."""


class RestoreRefused(Exception):
    """The restore cannot be done (it would not fit); the message is for the customer."""


# --- repositories and backups -----------------------------------------------------------------------------


def repository_for(host: MailHost) -> Repository:
    return Repository(
        location=settings.BACKUP_REPOSITORY.format(host=host.name),
        password=settings.BACKUP_PASSWORD,
        cache_dir=settings.BACKUP_CACHE_DIR,
    )


def claim_backup(host: MailHost) -> BackupRun:
    """A running BackupRun for the host, or BackupBusy when one runs (one backup per host at a time)."""
    now = timezone.now()
    with transaction.atomic():
        MailHost.objects.select_for_update().get(pk=host.pk)
        running = BackupRun.objects.filter(host=host, status=BackupRun.Status.RUNNING)
        running.filter(started_at__lt=now - STALE_AFTER).update(
            status=BackupRun.Status.FAILED, finished_at=now, error="interrupted (the worker stopped)"
        )
        if running.exists():
            raise BackupBusy(f"a backup of {host.name} is running")
        return BackupRun.objects.create(host=host, started_at=now)


def backup_host(*, host: MailHost) -> BackupRun:
    """1. claim the host (one backup at a time) and catalogue its mailboxes' folders from disk;
    2. `restic backup` of every registered path; the repository is created on the host's first backup only
       (a repository missing later is a fault, e.g. storage not mounted, never silently replaced);
    3. `restic forget --keep-daily N --prune`, and drop forgotten snapshots from the catalogue;
    4. record the run (size, new data, warnings) and resolve the host's alerts; on any error record it,
       raise an alert for staff, and re-raise so the task retries.
    """
    run = claim_backup(host)
    try:
        expunge_old_deleted_mail(host)
        catalogue = scan_host_mailboxes(host)
        repository = repository_for(host)
        if not repository.exists():
            if Snapshot.objects.filter(host=host).exists():
                raise ResticError(f"the repository at {repository.location} is missing or unreachable")
            repository.init()
        repository.unlock()
        paths = paths_to_back_up(host)
        if not paths:
            raise ResticError(f"nothing to back up on {host.name}: none of its paths exist")
        summary, warning = repository.backup(paths, host=host.name, tags=["postbode"])
        snapshots = repository.snapshots(host=host.name)
        snapshot = save_snapshot(host, summary["snapshot_id"], snapshots, catalogue)
        repository.forget(
            host=host.name, keep_daily=settings.BACKUP_KEEP_DAILY, keep_within=settings.BACKUP_KEEP_WITHIN
        )
        sync_snapshots(host, repository.snapshots(host=host.name))
    except Exception as error:
        fail_run(run, error)
        raise
    run.status = BackupRun.Status.SUCCEEDED
    run.finished_at = timezone.now()
    run.snapshot_id = snapshot.snapshot_id
    run.files_new = summary.get("files_new", 0)
    run.files_changed = summary.get("files_changed", 0)
    run.bytes_total = summary.get("total_bytes_processed", 0)
    run.bytes_added = summary.get("data_added", 0)
    run.warning = warning
    run.save()
    BackupAlert.objects.filter(host=host, resolved_at__isnull=True).update(resolved_at=run.finished_at)
    logger.info("backed up %s: snapshot %s, %d bytes new", host.name, run.snapshot_id[:8], run.bytes_added)
    return run


def expunge_old_deleted_mail(host: MailHost) -> None:
    """Recently deleted mail older than DELETED_MAIL_RETENTION_DAYS goes for good (lazy_expunge's folders)."""
    if not host.doveadm_command:
        return
    days = settings.DELETED_MAIL_RETENTION_DAYS
    try:
        DoveadmCommand(host.doveadm_command).run(
            "expunge", "-A", "mailbox", f"{EXPUNGED_PREFIX}*", "savedbefore", f"{days}d"
        )
    except DoveadmError as error:
        # A user without deleted mail has no such folder (exit code 68): not a reason to skip the backup.
        if error.exit_code != NOT_FOUND:
            logger.warning("expunging old deleted mail on %s: %s", host.name, error)


def fail_run(run: BackupRun, error: Exception) -> None:
    message = str(error) if isinstance(error, ResticError) else f"{type(error).__name__}: {error}"
    run.status = BackupRun.Status.FAILED
    run.finished_at = timezone.now()
    run.error = message[:4000]
    run.save(update_fields=["status", "finished_at", "error"])
    logger.error("backup of %s failed: %s", run.host.name, message)
    open_alert(host=run.host, kind=BackupAlert.Kind.FAILED, message=message[:2000])


def scan_host_mailboxes(host: MailHost) -> list[dict]:
    """Every mailbox with a folder on the host (deleted ones too, until purged), with its folders."""
    root = host.mail_root.resolve()
    rows = Mailbox.objects.filter(domain__mailhost=host).values_list(
        "pk", "customer_id", "local_part", "domain__name"
    )
    catalogue = []
    for pk, customer_id, local_part, domain in rows.iterator(chunk_size=2000):
        home = f"{domain}/{local_part}"
        folders = maildir.scan_mailbox(root / home / maildir.MAILDIR)
        if folders:
            catalogue.append(
                {
                    "mailbox_id": pk,
                    "customer_id": customer_id,
                    "address": f"{local_part}@{domain}",
                    "home": home,
                    "folders": folders,
                }
            )
    return catalogue


def parse_snapshot_time(value: str) -> datetime:
    """restic writes nanoseconds (2026-12-06T04:48:29.224225278Z); Python takes microseconds."""
    match = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", value)
    if not match:
        raise ResticError(f"unreadable snapshot time {value!r}")
    fraction = (match[2] or ".0")[:7]
    zone = "+00:00" if match[3] == "Z" else match[3]
    return datetime.fromisoformat(f"{match[1]}{fraction}{zone}")


@transaction.atomic
def save_snapshot(host: MailHost, short_id: str, snapshots: list[dict], catalogue: list[dict]) -> Snapshot:
    entry = next((s for s in snapshots if s["id"].startswith(short_id)), None)
    if entry is None:
        raise ResticError(f"snapshot {short_id} is not in the repository's list")
    snapshot = Snapshot.objects.create(
        host=host,
        snapshot_id=entry["id"],
        taken_at=parse_snapshot_time(entry["time"]),
        paths=entry.get("paths", []),
    )
    SnapshotMailbox.objects.bulk_create(
        [
            SnapshotMailbox(
                snapshot=snapshot,
                customer_id=row["customer_id"],
                mailbox_id=row["mailbox_id"],
                address=row["address"],
                home=row["home"],
                folders=row["folders"],
                messages=sum(f["messages"] for f in row["folders"]),
                bytes=sum(f["bytes"] for f in row["folders"]),
            )
            for row in catalogue
        ],
        batch_size=1000,
    )
    return snapshot


def sync_snapshots(host: MailHost, snapshots: list[dict]) -> int:
    """Drop catalogue entries of snapshots `forget` removed; how many were dropped."""
    kept = {entry["id"] for entry in snapshots}
    deleted, _counts = Snapshot.objects.filter(host=host).exclude(snapshot_id__in=kept).delete()
    return deleted


# --- alerts ----------------------------------------------------------------------------------------------


def staff_emails() -> list[str]:
    return list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )


def open_alert(*, host: MailHost | None, kind: str, message: str) -> BackupAlert | None:
    """An open alert for the host and kind, e-mailed to staff when it opens (not again while it stays open)."""
    if BackupAlert.objects.filter(host=host, kind=kind, resolved_at__isnull=True).exists():
        return None
    alert = BackupAlert.objects.create(host=host, kind=kind, message=message)
    recipients = staff_emails()
    if recipients:
        context = {"alert": alert, "host": host, "admin_url": site_link("admin:backups_backuprun_changelist")}
        send_template_email(
            name="backups/email/backup_alert", context=context, to=recipients, language=settings.LANGUAGE_CODE
        )
    return alert


def check_backup_health(*, now: datetime | None = None) -> list[BackupAlert]:
    """Alerts for every enabled host without a successful backup in BACKUP_MAX_AGE_HOURS (a nightly backup
    that did not run at all), and for a missing or failed database dump; stale runs and restores are closed."""
    now = now or timezone.now()
    limit = now - timedelta(hours=settings.BACKUP_MAX_AGE_HOURS)
    Restore.objects.filter(status=Restore.Status.RUNNING, started_at__lt=now - STALE_AFTER).update(
        status=Restore.Status.FAILED, finished_at=now, error="interrupted (the worker stopped)"
    )
    opened = []
    for host in MailHost.objects.filter(enabled=True):
        recent = BackupRun.objects.filter(host=host, status=BackupRun.Status.SUCCEEDED, started_at__gte=limit)
        if not recent.exists():
            last = BackupRun.objects.filter(host=host, status=BackupRun.Status.SUCCEEDED).first()
            when = last.started_at.strftime("%Y-%m-%d %H:%M") if last else "never"
            alert = open_alert(
                host=host,
                kind=BackupAlert.Kind.MISSING,
                message=f"no successful backup of {host.name} in {settings.BACKUP_MAX_AGE_HOURS} hours (last: {when})",
            )
            opened += [alert] if alert else []
    dumps = DatabaseDump.objects.filter(status=DatabaseDump.Status.SUCCEEDED, started_at__gte=limit)
    if settings.DB_BACKUP_ENABLED and not dumps.exists():
        alert = open_alert(
            host=None, kind=BackupAlert.Kind.DATABASE, message="no successful dump of the panel's database"
        )
        opened += [alert] if alert else []
    return opened


# --- restores --------------------------------------------------------------------------------------------


def mb(size: int) -> str:
    """Megabytes as people read them, in the active language: 0,4 / 3,5 / 120."""
    if size >= 10 * MB:
        return str(round(size / MB))
    return number_format(round(size / MB, 1), decimal_pos=1)


def restore_folder_name(day, language: str) -> str:
    with translation.override(language or settings.LANGUAGE_CODE):
        return translation.gettext("Restored %(date)s") % {"date": day.isoformat()}


def unique_folder(base: str, existing: list[str]) -> str:
    """`base`, or `base (2)`, `base (3)` ... when a folder of that name (or below it) exists already."""
    taken = {name.split("/")[0] for name in existing}
    if base not in taken:
        return base
    number = 2
    while f"{base} ({number})" in taken:
        number += 1
    return f"{base} ({number})"


def snapshot_paths(root: Path, home: str, folder: str) -> tuple[str, list[str]]:
    """(the Maildir as backed up, the paths to restore): the whole Maildir, the inbox's cur/ and new/, or
    one folder's directory."""
    source = str(root / home / maildir.MAILDIR)
    if not folder:
        return source, [source]
    if folder == maildir.INBOX:
        return source, [f"{source}/{sub}" for sub in maildir.MESSAGE_DIRS]
    return source, [f"{source}/{maildir.folder_dir(folder)}"]


def messages_in_copy(copy: Path, folder: str) -> dict[str, tuple[int, int]]:
    """{folder name: (messages, bytes as the quota counts them)} in the restored copy of a Maildir."""
    if folder and folder != maildir.INBOX:
        found = {folder: maildir.count_messages(copy / maildir.folder_dir(folder))}
    elif folder == maildir.INBOX:
        found = {folder: maildir.count_messages(copy)}
    else:
        found = {entry["name"]: (entry["messages"], entry["bytes"]) for entry in maildir.scan_mailbox(copy)}
    return {name: counts for name, counts in found.items() if counts[0]}


def give_to_mail_user(path: Path) -> None:
    """restic restores directories root-only: the mail user (doveadm import runs as it) must read and write."""
    if os.geteuid() != 0:
        return
    os.chown(path, settings.MAIL_UID, settings.MAIL_GID)
    for directory, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(
                os.path.join(directory, name), settings.MAIL_UID, settings.MAIL_GID, follow_symlinks=False
            )


def prepare_source(copy: Path, folders: list[str]) -> Path:
    """The restored copy as a Maildir doveadm can read: tmp/ folders (never backed up), the mail user's."""
    for name in [maildir.INBOX, *folders]:
        for sub in (*maildir.MESSAGE_DIRS, "tmp"):
            directory = copy / maildir.folder_dir(name) / sub
            if not directory.is_dir():
                directory.mkdir(parents=True)
                if os.geteuid() == 0:
                    os.chown(directory, settings.MAIL_UID, settings.MAIL_GID)
    return copy


def run_restore(*, restore_id: int) -> Restore | None:
    """1. claim the waiting restore (a second delivery of the task finds it running and stops);
    2. `restic restore` the mailbox or folder into a scratch directory (the mailbox is not touched yet);
    3. count the restored messages and their sizes exactly and check they fit the quota Dovecot reports now;
       the copy is made the mail user's;
    4. `doveadm import` it into a new folder `Hersteld <date>`, a batch at a time, recording the progress;
    5. check the counts Dovecot reports against the copy's, fsync the new folders, mail the owners, remove
       the scratch copy.
    """
    now = timezone.now()
    if not Restore.objects.filter(pk=restore_id, status=Restore.Status.QUEUED).update(
        status=Restore.Status.RUNNING, started_at=now
    ):
        return None
    restore = Restore.objects.select_related("mailbox__domain__mailhost", "customer", "source__snapshot").get(
        pk=restore_id
    )
    scratch = Path(settings.BACKUP_SCRATCH_DIR).resolve() / f"restore-{restore.pk}"
    try:
        with translation.override(restore.customer.language or settings.LANGUAGE_CODE):
            import_restore(restore, scratch)
    except RestoreRefused as refusal:
        finish_restore(restore, Restore.Status.REFUSED, str(refusal))
    except Exception as error:
        logger.exception("restore %s failed", restore.pk)
        finish_restore(restore, Restore.Status.FAILED, f"{type(error).__name__}: {error}"[:4000])
    else:
        finish_restore(restore, Restore.Status.SUCCEEDED, "")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return restore


@contextlib.contextmanager
def stopwatch(timings: dict[str, float] | None, step: str):
    """Adds the seconds the block took to `timings[step]` (the restore's figures in the log and the bench)."""
    started = time.monotonic()
    try:
        yield
    finally:
        if timings is not None:
            timings[step] = timings.get(step, 0.0) + time.monotonic() - started


def fetch_copy(
    repository: Repository, snapshot_id: str, *, root: Path, home: str, folder: str, scratch: Path
) -> tuple[Path, dict[str, tuple[int, int]]]:
    """`restic restore` a mailbox (or one folder of it) from a snapshot into `scratch` (the mailbox is not
    touched); (the restored copy of its Maildir, {folder: (messages, bytes)} counted in that copy)."""
    source, includes = snapshot_paths(root, home, folder)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    # Without restic's lock: it costs a fifth of a second of waiting on every run, and what it guards against
    # (a prune removing data while we read) cannot happen here: backups, with their forget and prune, and
    # restores of a host run one at a time on the host's queue. A restore that still failed would say so and
    # change nothing.
    repository.restore(snapshot_id, target=scratch, includes=includes, lock=False)
    give_to_mail_user(scratch)
    return scratch / source.lstrip("/"), messages_in_copy(scratch / source.lstrip("/"), folder)


def restore_from_copy(
    doveadm: DoveadmCommand,
    user: str,
    *,
    copy: Path,
    found: dict[str, tuple[int, int]],
    quota_bytes: int,
    parent_name: str,
    on_parent=None,
    on_progress=None,
    timings: dict[str, float] | None = None,
) -> str:
    """Import a restored copy of a Maildir into a new folder of the mailbox: `parent_name`, or
    `parent_name (2)` ... when taken; refused up front when it does not fit the quota Dovecot reports now.
    The counts are checked and the new folder synced to disk. The new folder's name."""
    size = sum(b for _c, b in found.values())
    with stopwatch(timings, "quota check"):
        free = max(0, quota_bytes - doveadm.quota_used_bytes(user))
    if size > free:
        raise RestoreRefused(
            translation.gettext(
                "This restore needs %(needed)s MB, but the mailbox has only %(free)s MB free. "
                "Make room or raise its quota first."
            )
            % {"needed": mb(size), "free": mb(free)}
        )
    with stopwatch(timings, "prepare copy"):
        prepare_source(copy, sorted(name for name in found if name != maildir.INBOX))
    with stopwatch(timings, "folder list"):
        parent = unique_folder(parent_name, doveadm.mailboxes(user))
    if on_parent:
        on_parent(parent)
    done = 0
    for name in sorted(found):
        count = found[name][0]
        for start in range(1, count + 1, IMPORT_BATCH):
            end = min(start + IMPORT_BATCH - 1, count)
            with stopwatch(timings, "doveadm import"):
                doveadm.import_messages(
                    user, source=str(copy), parent=parent, folder=name, sequence=f"{start}:{end}"
                )
            done += end - start + 1
            if on_progress:
                on_progress(done)
    with stopwatch(timings, "count check"):
        arrived = doveadm.messages_below(user, parent)
    for name, (count, _size) in found.items():
        if arrived.get(f"{parent}/{name}") != count:
            raise DoveadmError(
                f"{parent}/{name} holds {arrived.get(f'{parent}/{name}')} messages after the import, expected {count}"
            )
    with stopwatch(timings, "sync to disk"):
        make_durable(Path(doveadm.mailbox_path(user, parent)))
    return parent


def make_durable(folder: Path) -> int:
    """fsync every file and directory of a new folder and of its sub-folders (Maildir++: the directories
    beside it whose names continue its own with "."), many at a time; how many. The import skips the fsync
    per message, which costs most of its time one after another: together they take a moment. Until this
    is done a crash can lose part of the new folder, never mail that was there before (the restore is then
    marked failed and can simply be run again)."""
    root = folder.parent
    paths = [str(root)]
    with os.scandir(root) as entries:
        tops = [e.path for e in entries if e.name == folder.name or e.name.startswith(folder.name + ".")]
    for top in tops:
        for directory, _dirs, files in os.walk(top):
            paths.append(directory)
            paths.extend(os.path.join(directory, name) for name in files)
    with ThreadPoolExecutor(max_workers=FSYNC_THREADS) as pool:
        list(pool.map(fsync_path, paths))  # wait for every fsync; the first error is raised here
    return len(paths)


def fsync_path(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def import_restore(restore: Restore, scratch: Path) -> None:
    mailbox = restore.mailbox
    host = mailbox.domain.mailhost
    if restore.source is None:
        raise RestoreRefused(translation.gettext("This backup has expired."))
    timings: dict[str, float] = {}
    with stopwatch(timings, "restic restore and count"):
        copy, found = fetch_copy(
            repository_for(host),
            restore.source.snapshot.snapshot_id,
            root=host.mail_root.resolve(),
            home=restore.source.home,
            folder=restore.folder,
            scratch=scratch,
        )
    total, size = sum(c for c, _b in found.values()), sum(b for _c, b in found.values())
    Restore.objects.filter(pk=restore.pk).update(messages_total=total, bytes_needed=size)
    restore.messages_total, restore.bytes_needed = total, size
    if not total:
        raise RestoreRefused(translation.gettext("There are no messages to restore in this backup."))

    def on_parent(parent: str) -> None:
        Restore.objects.filter(pk=restore.pk).update(target_folder=parent)
        restore.target_folder = parent

    def on_progress(done: int) -> None:
        Restore.objects.filter(pk=restore.pk).update(messages_done=done)
        restore.messages_done = done

    restore_from_copy(
        DoveadmCommand(host.doveadm_command),
        mailbox.address,
        copy=copy,
        found=found,
        quota_bytes=mailbox.quota_bytes,
        parent_name=restore_folder_name(restore.snapshot_day, restore.customer.language),
        on_parent=on_parent,
        on_progress=on_progress,
        timings=timings,
    )
    logger.info(
        "restore %s: %d messages, %d bytes into %s (%s)",
        restore.pk,
        total,
        size,
        restore.target_folder,
        ", ".join(f"{step} {seconds:.2f} s" for step, seconds in timings.items()),
    )


def finish_restore(restore: Restore, status: str, error: str) -> None:
    restore.status, restore.error, restore.finished_at = status, error, timezone.now()
    restore.save(update_fields=["status", "error", "finished_at"])
    record(
        Actor.system(),
        f"backup.restore_{status}",
        customer=restore.customer,
        obj=restore.mailbox,
        changes={"restore": restore.pk, "into": restore.target_folder, "messages": restore.messages_done},
    )
    send_restore_mail(restore)


def send_restore_mail(restore: Restore) -> None:
    """Tell the customer's owners (and whoever asked) that the restore is done, or why it is not."""
    owners = Membership.objects.filter(customer=restore.customer, role=Membership.Role.OWNER)
    recipients = set(owners.values_list("user__email", flat=True))
    if restore.requested_by is not None and restore.requested_by.email:
        recipients.add(restore.requested_by.email)
    if not recipients:
        return
    context = {
        "restore": restore,
        "address": restore.mailbox.unicode_address,
        "restore_url": site_link("backups:restore_detail", restore.mailbox_id, restore.pk),
    }
    send_customer_email(
        customer=restore.customer, name="backups/email/restore_done", context=context, to=sorted(recipients)
    )


# --- the panel's own database ----------------------------------------------------------------------------


def dump_database(*, now: datetime | None = None) -> DatabaseDump:
    """`pg_dump --format=custom` of the panel's database into DB_BACKUP_DIR (SQLite: its backup API), then
    remove dumps older than DB_BACKUP_KEEP_DAYS. The file appears under its final name only when complete."""
    now = now or timezone.now()
    directory = Path(settings.DB_BACKUP_DIR)
    dump = DatabaseDump.objects.create(started_at=now)
    suffix = "dump" if connection.vendor == "postgresql" else "sqlite3"
    path = directory / f"postbode-{now:%Y%m%d-%H%M%S}.{suffix}"
    partial = path.with_name(path.name + ".partial")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if connection.vendor == "postgresql":
            run_pg(
                ["pg_dump", "--format=custom", "--no-owner", f"--file={partial}"], connection.settings_dict
            )
        else:
            copy_sqlite(partial)
        partial.chmod(0o600)
        partial.replace(path)
    except Exception as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        dump.status, dump.error, dump.finished_at = (
            DatabaseDump.Status.FAILED,
            str(error)[:4000],
            timezone.now(),
        )
        dump.save()
        open_alert(host=None, kind=BackupAlert.Kind.DATABASE, message=f"database dump failed: {error}"[:2000])
        raise
    dump.status, dump.path, dump.size = DatabaseDump.Status.SUCCEEDED, str(path), path.stat().st_size
    dump.finished_at = timezone.now()
    dump.save()
    BackupAlert.objects.filter(host=None, kind=BackupAlert.Kind.DATABASE, resolved_at__isnull=True).update(
        resolved_at=dump.finished_at
    )
    prune_dumps(now=now)
    return dump


def prune_dumps(*, now: datetime) -> int:
    cutoff = now - timedelta(days=settings.DB_BACKUP_KEEP_DAYS)
    old = DatabaseDump.objects.filter(started_at__lt=cutoff, deleted_at__isnull=True)
    pruned = 0
    for dump in old:
        if dump.path:
            Path(dump.path).unlink(missing_ok=True)
        dump.deleted_at = now
        dump.save(update_fields=["deleted_at"])
        pruned += 1
    return pruned


def pg_environment(settings_dict: dict) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore; the password travels in the environment, not argv."""
    args = [f"--dbname={settings_dict['NAME']}"]
    if settings_dict.get("HOST"):
        args.append(f"--host={settings_dict['HOST']}")
    if settings_dict.get("PORT"):
        args.append(f"--port={settings_dict['PORT']}")
    if settings_dict.get("USER"):
        args.append(f"--username={settings_dict['USER']}")
    env = {**os.environ}
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    return args, env


def run_pg(command: list[str], settings_dict: dict) -> None:
    args, env = pg_environment(settings_dict)
    completed = subprocess.run(
        [*command, *args], env=env, capture_output=True, text=True, timeout=6 * 3600, stdin=subprocess.DEVNULL
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"{command[0]} exited with status {completed.returncode}: {completed.stderr[-2000:]}"
        )


def copy_sqlite(target: Path) -> None:
    """The development default's database, copied with SQLite's backup API (which waits for ever on a
    database its own connection is writing: never inside a transaction)."""
    if connection.in_atomic_block:
        raise RuntimeError("the SQLite database cannot be copied inside a transaction")
    connection.ensure_connection()
    with sqlite3.connect(target) as copy:
        connection.connection.backup(copy)


def restore_database(*, dump_path: Path, database_url: str) -> None:
    """Load a dump into an existing, empty PostgreSQL database (see README: restoring the panel database)."""
    target = dj_database_url.parse(database_url)
    run_pg(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", str(dump_path)], target)
