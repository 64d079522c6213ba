"""What a night's snapshot holds and keeps, against the real restic on a local repository (no mail stack needed):
every message but no half-written ones (Maildir's tmp/, also when the mail root itself is below a directory
named tmp), the calendars and address books, `forget` keeping the configured daily snapshots and the catalogue
following it, and the demo's backup to restore from."""

import json
import os
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from mailaccounts.services import mailboxes as mailbox_services
from mailhosts.models import MailHost
from tenants.audit import Actor
from tests.conftest import require_service

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def repository_in_tmp(settings, tmp_path):
    require_service(shutil.which("restic") is not None, "restic (Debian package restic)")
    settings.BACKUP_REPOSITORY = str(tmp_path / "restic" / "{host}")
    settings.BACKUP_CACHE_DIR = str(tmp_path / "restic-cache")
    settings.BACKUP_SCRATCH_DIR = str(tmp_path / "scratch")


def snapshot_files(host, snapshot_id: str) -> set[str]:
    from backups.jobs import repository_for

    output = repository_for(host).run("ls", "--json", snapshot_id).stdout
    nodes = [json.loads(line) for line in output.splitlines() if line.strip()]
    return {node["path"] for node in nodes if node.get("type") == "file"}


def put(path, data: bytes = b"Subject: x\n\nhallo\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.mark.django_db
def test_a_snapshot_holds_every_message_and_the_calendars_but_no_half_written_mail(
    customer, domain, tmp_path
):
    from backups import jobs
    from backups.models import SnapshotMailbox
    from devices.models import ClientEndpoints

    host = MailHost.objects.default()
    root = host.mail_root.resolve()
    assert "/tmp" in str(root)  # the mail root is below a directory named tmp, as in the tests of old
    mailbox, _generated = mailbox_services.create_mailbox(
        actor=Actor.system(),
        customer=customer,
        domain=domain,
        local_part="jan",
        quota_bytes=10**8,
        password="Brood-En-Banket-42",
    )
    home = root / domain.name / "jan" / "Maildir"
    kept = [
        home / "cur" / "1.M1P1.mx1,S=17,W=18:2,S",
        home / "new" / "2.M2P2.mx1,S=17,W=18",
        home / ".Werk" / "cur" / "3.M3P3.mx1,S=17,W=18:2,",
        home / ".tmp" / "cur" / "4.M4P4.mx1,S=17,W=18:2,S",  # a folder the user named "tmp"
        home / ".Werk.tmp" / "new" / "5.M5P5.mx1,S=17,W=18",  # and its namesake below Werk
        home / "dovecot-uidlist",
    ]
    half_written = [
        home / "tmp" / "6.M6P6.mx1",
        home / ".Werk" / "tmp" / "7.M7P7.mx1",
        home / "dovecot.index.cache",
    ]
    for path in kept + half_written:
        put(path)
    collections = tmp_path / "radicale" / "collections"
    calendar = collections / "collection-root" / mailbox.address / "agenda" / "afspraak.ics"
    put(calendar, b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    ClientEndpoints.objects.create(mailhost=host, dav_storage_dir=str(collections))

    run = jobs.backup_host(host=host)
    assert run.status == "succeeded", run.error
    files = snapshot_files(host, run.snapshot_id)
    assert {str(p) for p in kept} <= files
    assert {str(p) for p in half_written}.isdisjoint(files)
    assert str(calendar) in files
    catalogue = SnapshotMailbox.objects.get(mailbox=mailbox)
    assert {f["name"]: f["messages"] for f in catalogue.folders} == {
        "INBOX": 2,
        "Werk": 1,
        "Werk/tmp": 1,
        "tmp": 1,
    }


@pytest.mark.django_db
def test_forget_keeps_the_daily_snapshots_and_the_catalogue_follows(settings, domain):
    from backups import jobs
    from backups.models import Snapshot

    settings.BACKUP_KEEP_DAILY = 3
    host = MailHost.objects.default()
    put(host.mail_root / domain.name / "jan" / "Maildir" / "cur" / "1.M1P1.mx1,S=17,W=18:2,S")
    repository = jobs.repository_for(host)
    repository.init()
    # restic reads `--time`, dates its snapshots and keeps one a day in the local time zone (the panel's, which
    # Django puts in its environment): days are counted in it, or an hour around midnight counts them wrong.
    now = timezone.localtime()
    for days_ago in [6, 5, 4, 3, 2]:  # five nights before today's
        taken = now - timedelta(days=days_ago)
        repository.run(
            "backup",
            "--host",
            host.name,
            "--time",
            taken.strftime("%Y-%m-%d %H:%M:%S"),
            str(host.mail_root.resolve()),
        )
    for entry in repository.snapshots(host=host.name):
        Snapshot.objects.create(
            host=host, snapshot_id=entry["id"], taken_at=jobs.parse_snapshot_time(entry["time"])
        )

    run = jobs.backup_host(host=host)
    assert run.status == "succeeded", run.error
    kept = repository.snapshots(host=host.name)
    days = sorted(
        (now.date() - timezone.localtime(jobs.parse_snapshot_time(s["time"])).date()).days for s in kept
    )
    assert days == [0, 2, 3]  # today's and the two nights before it: three days
    assert set(Snapshot.objects.filter(host=host).values_list("snapshot_id", flat=True)) == {
        s["id"] for s in kept
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_demo_has_a_backup_to_restore_from(settings, client):
    from backups.models import Snapshot, SnapshotMailbox
    from postbode.management.commands.demo import DOMAIN_NAME, OWNER_EMAIL
    from tenants.models import User
    from tests.conftest import ensure_seeded_plans

    ensure_seeded_plans()  # an earlier transactional test flushed them
    settings.CELERY_TASK_ALWAYS_EAGER = True
    call_command("demo", verbosity=0)
    host = MailHost.objects.get(domains__name=DOMAIN_NAME)
    snapshot = Snapshot.objects.get(host=host)
    info = SnapshotMailbox.objects.get(snapshot=snapshot, address=f"info@{DOMAIN_NAME}")
    assert info.messages >= 1 and info.folder("INBOX")["messages"] >= 1
    files = snapshot_files(host, snapshot.snapshot_id)
    assert any(f"/{DOMAIN_NAME}/info/Maildir/new/" in path for path in files)
    client.force_login(User.objects.get(email=OWNER_EMAIL))
    page = client.get(f"/mailboxes/{info.mailbox_id}/backups/restore/", {"day": snapshot.day.isoformat()})
    assert page.status_code == 200 and page.context["source"] == info


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB file system (tmpfs) for the repository: full after the first megabytes of mail."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True
    )
    require_service(mounted.returncode == 0, "mounting a tmpfs (root) to fill a repository")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.django_db
def test_a_full_repository_fails_visibly_and_the_next_run_succeeds_once_there_is_room(
    settings, domain, staff, small_disk
):
    from django.core import mail as django_mail

    from backups import jobs
    from backups.models import BackupAlert, BackupRun
    from backups.restic import ResticError

    settings.BACKUP_REPOSITORY = str(small_disk / "{host}")
    host = MailHost.objects.default()
    for number in range(4):  # 4 MB of mail that does not compress
        put(
            host.mail_root / domain.name / "jan" / "Maildir" / "cur" / f"{number}.M1P1.mx1:2,S",
            os.urandom(10**6),
        )
    jobs.repository_for(host).init()

    with pytest.raises(ResticError):
        jobs.backup_host(host=host)
    failed = BackupRun.objects.get(host=host)
    assert failed.status == "failed" and "no space left on device" in failed.error.lower()
    assert BackupAlert.objects.get(host=host, resolved_at__isnull=True).kind == "failed"
    assert [m.to for m in django_mail.outbox] == [[staff.email]]

    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)  # room again
    run = jobs.backup_host(host=host)
    assert run.status == "succeeded", run.error
    assert not BackupAlert.objects.filter(host=host, resolved_at__isnull=True).exists()
