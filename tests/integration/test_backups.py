"""Backups against the real thing: restic on a local repository, Dovecot's lazy_expunge and doveadm (its HTTP
API and `doveadm import`), Postfix delivering, the Celery worker running restores on the host's queue."""

import email
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from email.policy import default as default_policy
from pathlib import Path

import pytest
from django.core import mail as django_mail
from django.db import connection

from tests.conftest import require_service
from tests.integration.conftest import create_mailbox, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
PASSWORD = "Brood-En-Banket-42"


@pytest.fixture
def backups_host(stack_host, mailstack, tmp_path):
    """The stack host with its doveadm HTTP API known to the panel, and restic available."""
    from backups.stack import attach

    require_service(shutil.which("restic") is not None, "restic (Debian package restic)")
    attach(mailstack, stack_host)
    return stack_host


def backup(host):
    from backups import jobs

    return jobs.backup_host(host=host)


def imap_folder_messages(client, folder: str) -> list[email.message.EmailMessage]:
    status, _data = client.select(f'"{folder}"', readonly=True)
    assert status == "OK", folder
    _status, data = client.search(None, "ALL")
    found = []
    for number in data[0].split():
        _status, parts = client.fetch(number, "(BODY.PEEK[])")
        found.append(email.message_from_bytes(parts[0][1], policy=default_policy))
    return found


def fingerprint(message) -> tuple[str, str]:
    """(Message-ID, hash of the body): the same message, whatever the folder or file name."""
    body = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n").strip()
    return message["Message-ID"], hashlib.sha256(body.encode()).hexdigest()


def folders_of(client) -> list[str]:
    _status, rows = client.list()
    return sorted(row.decode().rsplit(' "/" ', 1)[-1].strip('"') for row in rows)


def append(client, folder: str, message) -> None:
    client.create(folder)
    status, _ = client.append(folder, None, None, message.as_bytes())
    assert status == "OK"


def wait_restore(restore, timeout: float = 60):
    def finished():
        restore.refresh_from_db()
        return not restore.is_active

    wait_until(finished, timeout=timeout, interval=0.2, what=f"restore {restore.pk} to finish")
    return restore


def test_restore_of_a_whole_mailbox_brings_back_deleted_messages_and_folders(
    backups_host, stack_domain, customer, owner, mail, fresh, mailstack
):
    from backups.services import request_restore, snapshots_of
    from tenants.audit import Actor
    from tenants.models import AuditEntry

    customer.language = "nl"
    customer.save(update_fields=["language"])
    mailbox = create_mailbox(stack_domain, fresh("jan"), PASSWORD)
    mail.wait_live(mailbox)
    sent = []
    for number in range(3):
        message = mail.message(
            sender="klant@elders.example", to=mailbox.address, subject=f"Bestelling {number}"
        )
        mail.deliver(message)
        sent.append(message)
    mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Bestelling 2")
    client = mail.imap(mailbox.address, PASSWORD)
    werk = [
        mail.message(sender="baas@elders.example", to=mailbox.address, subject=f"Werk {n}") for n in range(2)
    ]
    for message in werk:
        append(client, "Werk", message)

    run = backup(backups_host)
    assert run.status == "succeeded" and run.bytes_total > 0

    client.select("INBOX")
    client.store("1", "+FLAGS", "\\Deleted")
    client.expunge()
    assert client.delete("Werk")[0] == "OK"
    before = {f: sorted(fingerprint(m) for m in imap_folder_messages(client, f)) for f in ["INBOX"]}

    source = snapshots_of(mailbox).first()
    assert {f["name"]: f["messages"] for f in source.folders}.items() >= {"INBOX": 3, "Werk": 2}.items()
    restore = request_restore(actor=Actor(user=owner), mailbox=mailbox, source=source)
    wait_restore(restore)
    assert restore.status == "succeeded", restore.error
    day = source.snapshot.day.isoformat()
    assert restore.target_folder == f"Hersteld {day}"
    assert restore.messages_done == 5 and restore.percent == 100

    client = mail.imap(mailbox.address, PASSWORD)
    assert f"Hersteld {day}/INBOX" in folders_of(client) and f"Hersteld {day}/Werk" in folders_of(client)
    restored_inbox = sorted(fingerprint(m) for m in imap_folder_messages(client, f"Hersteld {day}/INBOX"))
    assert restored_inbox == sorted(fingerprint(m) for m in sent)
    restored_werk = sorted(fingerprint(m) for m in imap_folder_messages(client, f"Hersteld {day}/Werk"))
    assert restored_werk == sorted(fingerprint(m) for m in werk)
    # nothing else changed: the inbox holds exactly what it held before the restore
    assert {f: sorted(fingerprint(m) for m in imap_folder_messages(client, f)) for f in ["INBOX"]} == before
    client.logout()
    assert AuditEntry.objects.filter(customer=customer, action="backup.restore").exists()
    assert AuditEntry.objects.filter(customer=customer, action="backup.restore_succeeded").exists()
    # the worker mails the owners (console backend in the test worker: its log)
    # the worker sends the e-mail after committing the restore's state, so its log may lag a moment
    subject = f"Subject: Terugzetten klaar: {mailbox.address}"
    log = mailstack.path("log", "celery-worker.log")
    wait_until(
        lambda: subject in log.read_text(errors="replace"), what="the restore's e-mail in the worker's log"
    )
    worker_log = log.read_text(errors="replace")
    assert f"Subject: Terugzetten klaar: {mailbox.address}" in worker_log


def test_restore_of_one_folder_goes_into_a_new_folder_and_twice_gets_a_second_one(
    backups_host, stack_domain, owner, mail, fresh
):
    from backups.services import request_restore, snapshots_of
    from tenants.audit import Actor

    mailbox = create_mailbox(stack_domain, fresh("piet"), PASSWORD)
    mail.wait_live(mailbox)
    client = mail.imap(mailbox.address, PASSWORD)
    archive = [
        mail.message(sender="a@elders.example", to=mailbox.address, subject=f"Archief {n}") for n in range(4)
    ]
    for message in archive:
        append(client, "Archief/2025", message)
    backup(backups_host)
    source = snapshots_of(mailbox).first()
    day = source.snapshot.day.isoformat()
    first = wait_restore(
        request_restore(actor=Actor(user=owner), mailbox=mailbox, source=source, folder="Archief/2025")
    )
    second = wait_restore(
        request_restore(actor=Actor(user=owner), mailbox=mailbox, source=source, folder="Archief/2025")
    )
    assert (first.status, second.status) == ("succeeded", "succeeded"), (first.error, second.error)
    assert first.target_folder == f"Restored {day}" and second.target_folder == f"Restored {day} (2)"
    client = mail.imap(mailbox.address, PASSWORD)
    for parent in [first.target_folder, second.target_folder]:
        restored = imap_folder_messages(client, f"{parent}/Archief/2025")
        assert sorted(fingerprint(m) for m in restored) == sorted(fingerprint(m) for m in archive)
    assert sorted(fingerprint(m) for m in imap_folder_messages(client, "Archief/2025")) == sorted(
        fingerprint(m) for m in archive
    )


def test_a_restore_that_no_longer_fits_the_quota_is_refused_by_the_task(
    backups_host, stack_domain, owner, mail, fresh
):
    """The page checks the size up front from the catalogue; the task checks it again against what Dovecot
    counts at that moment, and refuses with the size it needs."""
    from backups.services import request_restore, snapshots_of
    from tenants.audit import Actor

    mailbox = create_mailbox(stack_domain, fresh("vol"), PASSWORD, quota_bytes=10 * 1024 * 1024)
    mail.wait_live(mailbox)
    line = "x" * 70 + "\n"
    mail.deliver(
        mail.message(sender="a@elders.example", to=mailbox.address, subject="Groot", body=line * 85_000)
    )
    mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Groot")
    backup(backups_host)
    mail.deliver(
        mail.message(sender="a@elders.example", to=mailbox.address, subject="Nog groter", body=line * 50_000)
    )
    mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Nog groter")
    restore = wait_restore(
        request_restore(actor=Actor(user=owner), mailbox=mailbox, source=snapshots_of(mailbox).first())
    )
    assert restore.status == "refused"
    assert "MB" in restore.error and "free" in restore.error
    client = mail.imap(mailbox.address, PASSWORD)
    assert not [f for f in folders_of(client) if f.startswith("Restored")]


def test_an_expunged_message_is_listed_restored_to_its_folder_and_kept_outside_the_quota(
    backups_host, stack_domain, customer, owner_client, mail, fresh
):
    from backups.doveadm import DoveadmCommand
    from tenants.models import AuditEntry

    mailbox = create_mailbox(stack_domain, fresh("els"), PASSWORD)
    mail.wait_live(mailbox)
    doveadm = DoveadmCommand(backups_host.doveadm_command)
    client = mail.imap(mailbox.address, PASSWORD)
    keep = mail.message(sender="a@elders.example", to=mailbox.address, subject="Blijft", body="k" * 5000)
    gone = mail.message(
        sender="b@elders.example", to=mailbox.address, subject="Per ongeluk weg", body="g" * 50_000
    )
    append(client, "Offertes", keep)
    append(client, "Offertes", gone)
    used_before = doveadm.quota_used_bytes(mailbox.address)
    client.select("Offertes")
    client.store("2", "+FLAGS", "\\Deleted")
    client.expunge()
    client.logout()
    used_deleted = doveadm.quota_used_bytes(mailbox.address)
    assert used_deleted <= used_before - 49_000  # the deleted message no longer counts

    page = owner_client.get(f"/mailboxes/{mailbox.pk}/backups/deleted/")
    assert page.status_code == 200
    assert "Per ongeluk weg" in page.content.decode() and "Blijft" not in page.content.decode()
    found = page.context["messages_found"]
    assert [(m.folder, m.subject) for m in found] == [("Offertes", "Per ongeluk weg")]
    search = owner_client.get(f"/mailboxes/{mailbox.pk}/backups/deleted/", {"q": "niets dergelijks"})
    assert search.context["messages_found"] == []

    # an IMAP client cannot see or fill the hidden folder
    client = mail.imap(mailbox.address, PASSWORD)
    assert not [f for f in folders_of(client) if "EXPUNGED" in f]
    assert client.select('".EXPUNGED/Offertes"')[0] == "NO"
    assert client.append(".EXPUNGED/Offertes", None, None, keep.as_bytes())[0] == "NO"
    client.logout()

    response = owner_client.post(
        f"/mailboxes/{mailbox.pk}/backups/deleted/restore/", {"folder": "Offertes", "guid": found[0].guid}
    )
    assert response.status_code == 302
    client = mail.imap(mailbox.address, PASSWORD)
    back = sorted(fingerprint(m) for m in imap_folder_messages(client, "Offertes"))
    assert back == sorted([fingerprint(keep), fingerprint(gone)])
    assert owner_client.get(f"/mailboxes/{mailbox.pk}/backups/deleted/").context["messages_found"] == []
    assert AuditEntry.objects.filter(customer=customer, action="backup.deleted_message_restore").count() == 1
    # restoring it again (it is no longer there) is a 404 and changes nothing
    again = owner_client.post(
        f"/mailboxes/{mailbox.pk}/backups/deleted/restore/", {"folder": "Offertes", "guid": found[0].guid}
    )
    assert again.status_code == 404


def test_a_message_deleted_from_the_trash_comes_back_to_the_inbox_also_by_staff(
    backups_host, stack_domain, staff_client, mail, fresh
):
    from tenants.models import AuditEntry

    mailbox = create_mailbox(stack_domain, fresh("bin"), PASSWORD)
    mail.wait_live(mailbox)
    message = mail.message(sender="a@elders.example", to=mailbox.address, subject="Prullenbak")
    mail.deliver(message)
    mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Prullenbak")
    client = mail.imap(mailbox.address, PASSWORD)
    client.select("INBOX")
    assert client.copy("1", "Trash")[0] == "OK"  # as mail programs "delete": to the trash ...
    client.store("1", "+FLAGS", "\\Deleted")
    client.expunge()
    client.select("Trash")  # ... then empty it
    client.store("1:*", "+FLAGS", "\\Deleted")
    client.expunge()
    client.logout()
    page = staff_client.get("/admin/backups/restore/deleted/", {"address": mailbox.address})
    found = page.context["messages_found"]
    assert [(m.folder, m.subject) for m in found] == [("Trash", "Prullenbak")]
    response = staff_client.post(
        f"/admin/backups/restore/deleted/?address={mailbox.address}",
        {"folder": "Trash", "guid": found[0].guid},
    )
    assert response.status_code == 302
    assert [m["Subject"] for m in mail.imap_messages(mailbox.address, PASSWORD)] == ["Prullenbak"]
    assert AuditEntry.objects.get(action="backup.deleted_message_restore").actor_kind == "staff"


def test_a_purged_mailbox_is_restored_from_the_snapshot_taken_before(
    backups_host, stack_domain, customer, owner, mail, fresh
):
    from backups.services import purged_mailboxes, request_restore
    from mailaccounts.services.mailboxes import delete_mailbox, purge_mailbox
    from tenants.audit import Actor

    leaver = create_mailbox(stack_domain, fresh("vertrokken"), PASSWORD)
    heir = create_mailbox(stack_domain, fresh("opvolger"), PASSWORD)
    mail.wait_live(heir)
    old = [mail.message(sender="k@elders.example", to=leaver.address, subject=f"Oud {n}") for n in range(3)]
    for message in old:
        mail.deliver(message)
    mail.wait_for_inbox(leaver.address, PASSWORD, subject="Oud 2")
    backup(backups_host)
    home = backups_host.mail_root / stack_domain.name / leaver.local_part
    delete_mailbox(actor=Actor(user=owner), mailbox=leaver)
    purge_mailbox(mailbox=leaver)
    wait_until(lambda: not home.exists(), what="the purged mailbox's folder to be removed")

    entries = [e for e in purged_mailboxes(customer) if e["address"] == leaver.address]
    assert len(entries) == 1
    source = entries[0]["snapshots"][0]
    restore = wait_restore(request_restore(actor=Actor(user=owner), mailbox=heir, source=source))
    assert restore.status == "succeeded", restore.error
    client = mail.imap(heir.address, PASSWORD)
    restored = imap_folder_messages(client, f"{restore.target_folder}/INBOX")
    assert sorted(fingerprint(m) for m in restored) == sorted(fingerprint(m) for m in old)


def test_mail_delivered_during_a_backup_is_in_that_snapshot_or_the_next(
    backups_host, stack_domain, mail, fresh, tmp_path
):
    from backups.jobs import repository_for

    mailbox = create_mailbox(stack_domain, fresh("druk"), PASSWORD)
    mail.wait_live(mailbox)
    for number in range(300):  # enough that a backup takes a while
        if number % 100 == 0:
            mail.deliver(
                mail.message(sender="a@elders.example", to=mailbox.address, subject=f"Vooraf {number}")
            )
    delivered: list[str] = []
    stop = threading.Event()

    def deliver_continuously():
        while not stop.is_set():
            message = mail.message(
                sender="a@elders.example", to=mailbox.address, subject="Tijdens", body="t" * 3000
            )
            mail.deliver(message)
            delivered.append(message["Message-ID"])

    thread = threading.Thread(target=deliver_continuously)
    thread.start()
    try:
        time.sleep(0.5)
        runs = [backup(backups_host)]
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join()
    wait_until(
        lambda: len(mail.imap_messages(mailbox.address, PASSWORD)) >= len(delivered) + 3, what="all delivered"
    )
    runs.append(backup(backups_host))
    assert len(delivered) > 5
    repository = repository_for(backups_host)
    home = str(backups_host.mail_root.resolve() / stack_domain.name / mailbox.local_part)
    found, half = set(), 0
    for run in runs:
        target = tmp_path / run.snapshot_id[:8]
        repository.restore(run.snapshot_id, target=target, includes=[home])
        for path in target.rglob("*"):
            if path.is_file() and path.parent.name in ("cur", "new"):
                data = path.read_bytes()
                size = (
                    int(path.name.split(",S=")[1].split(",")[0].split(":")[0])
                    if ",S=" in path.name
                    else len(data)
                )
                half += size != len(data)
                found.add(email.message_from_bytes(data)["Message-ID"])
    assert half == 0
    assert [m for m in delivered if m not in found] == []


def test_a_broken_repository_fails_visibly_delivery_goes_on_and_the_next_run_succeeds(
    backups_host, stack_domain, staff, mail, fresh, settings, tmp_path
):
    from django.test import Client

    from backups import jobs
    from backups.models import BackupAlert, BackupRun
    from backups.restic import ResticError

    settings.BACKUP_REPOSITORY = str(tmp_path / "repo-{host}")
    settings.LANGUAGE_CODE = "en"
    mailbox = create_mailbox(stack_domain, fresh("door"), PASSWORD)
    mail.wait_live(mailbox)
    assert jobs.backup_host(host=backups_host).status == "succeeded"
    repository = Path(settings.BACKUP_REPOSITORY.format(host=backups_host.name))
    repository.rename(tmp_path / "unplugged")  # the storage is gone (an unmounted disk, say)

    with pytest.raises(ResticError):
        jobs.backup_host(host=backups_host)
    failed = BackupRun.objects.filter(host=backups_host).first()
    assert failed.status == "failed" and "missing or unreachable" in failed.error
    assert not repository.exists()  # never silently replaced by a new, empty repository
    alert = BackupAlert.objects.get(host=backups_host, resolved_at__isnull=True)
    assert alert.kind == "failed"
    assert [m.to for m in django_mail.outbox if "Backup alert" in m.subject] == [[staff.email]]
    admin = Client()
    admin.force_login(staff)
    assert "backup-alerts" in admin.get("/admin/").content.decode()

    mail.deliver(mail.message(sender="a@elders.example", to=mailbox.address, subject="Gewoon bezorgd"))
    mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Gewoon bezorgd")

    (tmp_path / "unplugged").rename(repository)
    assert jobs.backup_host(host=backups_host).status == "succeeded"
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    assert "backup-alerts" not in admin.get("/admin/").content.decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_database_dump_restores_into_a_fresh_database_and_the_panel_starts_on_it(
    customer, owner, domain, settings, tmp_path
):
    """The rehearsal .ci/run also does from a shell: dump, restore into a fresh database, same rows, panel up."""
    from backups import jobs
    from backups.models import DatabaseDump
    from mailaccounts.services.mailboxes import create_mailbox as make
    from tenants.audit import Actor

    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    require_service(shutil.which("pg_dump") is not None, "pg_dump")
    make(
        actor=Actor.system(),
        customer=customer,
        domain=domain,
        local_part="jan",
        quota_bytes=10**8,
        password=PASSWORD,
    )
    settings.DB_BACKUP_DIR = str(tmp_path / "dumps")
    dump = jobs.dump_database()
    assert dump.status == DatabaseDump.Status.SUCCEEDED and Path(dump.path).stat().st_size > 1000
    source = connection.settings_dict
    fresh_name = f"{source['NAME']}_restored"
    base = f"postgres://{source.get('USER') or 'postgres'}@{source.get('HOST') or '127.0.0.1'}:{source.get('PORT') or 5432}"
    env = {**os.environ}
    subprocess.run(
        [
            "dropdb",
            "--if-exists",
            f"--host={source.get('HOST') or '127.0.0.1'}",
            f"--username={source.get('USER') or 'postgres'}",
            fresh_name,
        ],
        check=True,
        env=env,
    )
    subprocess.run(
        [
            "createdb",
            f"--host={source.get('HOST') or '127.0.0.1'}",
            f"--username={source.get('USER') or 'postgres'}",
            fresh_name,
        ],
        check=True,
        env=env,
    )
    try:
        jobs.restore_database(dump_path=Path(dump.path), database_url=f"{base}/{fresh_name}")

        def rows(url):
            output = subprocess.run(
                [sys.executable, "manage.py", "backups", "count-rows"],
                cwd=settings.BASE_DIR,
                env={**env, "DATABASE_URL": url},
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            return json.loads(output)

        original, restored = rows(f"{base}/{source['NAME']}"), rows(f"{base}/{fresh_name}")
        assert restored["panel.Customer"] >= 1 and restored["mailaccounts.Mailbox"] >= 1
        restored.pop("backups.DatabaseDump"), original.pop("backups.DatabaseDump")  # the dump's own row
        assert restored == original
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=settings.BASE_DIR,
            env={**env, "DATABASE_URL": f"{base}/{fresh_name}"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:

            def up():
                try:
                    return (
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2).status
                        == 200
                    )
                except OSError:
                    return False

            wait_until(up, timeout=60, interval=0.3, what="the panel on the restored database")
        finally:
            server.terminate()
            server.wait(10)
    finally:
        subprocess.run(
            [
                "dropdb",
                "--if-exists",
                f"--host={source.get('HOST') or '127.0.0.1'}",
                f"--username={source.get('USER') or 'postgres'}",
                fresh_name,
            ],
            env=env,
        )
