"""The apply task, the reconcile task, the admin's "re-apply now" and the deploy templates."""

import shutil
import subprocess
from pathlib import Path

import pytest

from mailhosts.apply import HostBusy, apply_host, host_lock
from mailhosts.models import MailHost
from mailhosts.stack import MailStack, all_port_offsets, fill_template, read_vars, render_templates
from tenants.models import AuditEntry
from tests.conftest import settled

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def host(db, tmp_path):
    return MailHost.objects.create(
        name="mx2", hostname="mx2.example", queue="mailhost.mx2", config_dir=str(tmp_path / "mx2")
    )


def test_reconcile_enqueues_hosts_that_are_behind_or_failed_but_not_disabled_ones(db, tmp_path, monkeypatch):
    from mailhosts import tasks

    def make(name, **fields):
        return MailHost.objects.create(
            name=name, hostname=name, queue=f"mailhost.{name}", config_dir=str(tmp_path), **fields
        )

    behind = make("behind", desired_revision=3, applied_revision=2)
    failed = make("failed", desired_revision=2, applied_revision=2, last_error="boom")
    make("current", desired_revision=2, applied_revision=2)
    make("off", desired_revision=5, applied_revision=1, enabled=False)
    queued = []
    monkeypatch.setattr(tasks, "enqueue_apply_mailhost", lambda host_id, **kw: queued.append(host_id))

    assert sorted(tasks.reconcile_mailhosts()) == ["behind", "failed"]
    assert sorted(queued) == sorted([behind.pk, failed.pk])


def test_a_failing_apply_in_process_records_the_error_instead_of_retrying_forever(host):
    from mailhosts.tasks import apply_mailhost

    host.reload_commands = [["false"]]
    host.desired_revision = 1
    host.save()
    result = apply_mailhost.apply(args=[host.pk])
    assert result.successful()
    host.refresh_from_db()
    assert host.applied_revision == 0
    assert "false exited with status 1" in host.last_error
    assert host.last_error_at is not None


def test_an_apply_of_a_host_being_applied_elsewhere_waits_its_turn(host):
    """Another worker (here: a thread with its own database connection) holds the host's lock."""
    import threading

    from django.db import connection

    host.desired_revision = 1
    host.save()
    held, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with host_lock(host.pk):
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert held.wait(10)
    try:
        with pytest.raises(HostBusy):
            apply_host(host.pk)
    finally:
        release.set()
        thread.join()
    assert apply_host(host.pk).revision == 1


def test_reapply_runs_the_reload_steps_even_when_the_host_is_up_to_date(
    host, tmp_path, django_capture_on_commit_callbacks
):
    from mailhosts.services import reapply_host
    from tenants.audit import Actor

    marker = tmp_path / "reloaded"
    host.reload_commands = [["touch", str(marker)]]
    host.save()
    apply_host(host.pk)
    assert not marker.exists()  # nothing was behind
    with django_capture_on_commit_callbacks(execute=True):
        reapply_host(host=host, actor=Actor.system())
    assert marker.exists()


def test_staff_see_the_state_and_error_and_can_reapply_now(
    host, staff_client, tmp_path, django_capture_on_commit_callbacks
):
    marker = tmp_path / "reloaded"
    host.reload_commands = [["touch", str(marker)]]
    host.desired_revision, host.applied_revision = 4, 3
    host.last_error = "postmap: fatal: open database"
    host.save()

    page = staff_client.get("/admin/mailhosts/mailhost/").content.decode()
    assert "postmap: fatal: open database" in page
    assert "Failed" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/mailhosts/mailhost/",
            {"action": "reapply_now", "_selected_action": [host.pk]},
            follow=True,
        )
    assert "Re-applying 1 mail host." in response.content.decode()
    host.refresh_from_db()
    assert host.last_error == ""
    assert host.applied_revision == 4
    assert marker.exists()
    assert AuditEntry.objects.filter(action="mailhost.reapply", object_id=str(host.pk)).exists()


def test_production_templates_are_complete_and_postfix_accepts_them(tmp_path):
    written = render_templates(read_vars(ROOT / "deploy" / "production.vars"), tmp_path)
    text = {path.name: path.read_text() for path in written}
    assert "@" not in "".join(
        line for line in text["main.cf"].splitlines() if "@" in line and "=" not in line
    )
    master = text["master.cf"]
    for port in ["25 inet", "587 inet", "465 inet", "127.0.0.1:10025 inet"]:
        assert port in master
    assert "port = 993" in text["dovecot.conf"] and "port = 995" in text["dovecot.conf"]
    assert "ssl = required" in text["dovecot.conf"]
    assert "smtpd_tls_auth_only = yes" in text["main.cf"]
    if shutil.which("postconf"):
        settled(tmp_path / "postfix" / "etc" / "main.cf")
        checked = subprocess.run(
            ["postconf", "-c", str(tmp_path / "postfix" / "etc"), "-n"], capture_output=True, text=True
        )
        assert checked.returncode == 0
        assert "warning" not in checked.stderr, checked.stderr


def test_a_template_without_a_value_is_refused():
    from mailhosts.stack import StackError

    with pytest.raises(StackError, match="MISSING"):
        fill_template("port = @MISSING@", {})


def test_the_stack_uses_consecutive_ports_from_its_base_and_tells_the_host_how_to_reach_it(tmp_path):
    stack = MailStack(tmp_path / "stack", 23000)
    assert stack.ports["smtp"] == 23000
    assert max(stack.ports.values()) == 23000 + max(all_port_offsets().values())
    settings = stack.host_settings()
    assert settings["postmap_command"] == ["postmap", "-c", str(stack.postfix_etc)]
    assert settings["doveadm_command"] == ["doveadm", "-c", str(stack.dovecot_conf)]


@pytest.mark.parametrize("changelist", ["/admin/mailaccounts/domain/", "/admin/mailaccounts/mailbox/"])
def test_staff_can_reapply_the_host_of_a_domain_or_mailbox(
    changelist, domain, staff_client, tmp_path, django_capture_on_commit_callbacks
):
    from mailaccounts.models import Mailbox

    mailbox = Mailbox.objects.create(
        customer=domain.customer,
        domain=domain,
        local_part="jan",
        password_hash="{SHA512-CRYPT}$6$x$y",
        quota_bytes=1,
    )
    host = domain.mailhost
    marker = tmp_path / "reloaded"
    host.reload_commands = [["touch", str(marker)]]
    host.save()
    selected = domain.pk if "domain" in changelist else mailbox.pk

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            changelist, {"action": "reapply_mail_hosts", "_selected_action": [selected]}, follow=True
        )
    assert f"Re-applying mail hosts: {host.name}." in response.content.decode()
    assert marker.exists()


def test_many_changes_coalesce_into_one_apply_and_later_tasks_find_nothing_to_do(domain):
    from mailhosts.revisions import mark_changed

    host = domain.mailhost
    for _ in range(5):
        mark_changed(domain, host=host)
    first = apply_host(host.pk)
    assert first.revision == 5 and not first.skipped
    assert all(apply_host(host.pk).skipped for _ in range(4))  # the other queued tasks
    domain.refresh_from_db()
    assert domain.live_state == "live"


def test_retries_back_off_exponentially_up_to_five_minutes():
    from mailhosts.tasks import backoff_seconds

    delays = [backoff_seconds(retry) for retry in range(12)]
    assert 1.6 <= delays[0] <= 2.4
    assert 6.4 <= delays[2] <= 9.6
    assert all(delay <= 360 for delay in delays)
    assert delays[-1] >= 240


def test_usage_of_hosts_with_doveadm_is_measured_on_their_own_queue(
    domain, other_customer, monkeypatch, tmp_path
):
    from django.utils import timezone

    from mailaccounts import tasks
    from mailaccounts.models import Domain, Mailbox

    remote = MailHost.objects.create(
        name="mx9",
        hostname="mx9",
        queue="mailhost.mx9",
        config_dir=str(tmp_path),
        doveadm_command=["doveadm"],
    )
    remote_domain = Domain.objects.create(
        customer=other_customer,
        name="ver.example",
        mailhost=remote,
        verification_token="t",
        verified_at=timezone.now(),
    )
    local_box = Mailbox.objects.create(
        customer=domain.customer, domain=domain, local_part="jan", password_hash="{X}y", quota_bytes=10
    )
    Mailbox.objects.create(
        customer=other_customer, domain=remote_domain, local_part="piet", password_hash="{X}y", quota_bytes=10
    )
    sent = []
    monkeypatch.setattr(
        tasks.measure_mailhost_usage, "apply_async", lambda args, queue: sent.append((args, queue))
    )

    assert tasks.measure_usage() == 1  # only the embedded default's mailbox, from disk
    assert sent == [([remote.pk], "mailhost.mx9")]
    local_box.refresh_from_db()
    assert local_box.usage_measured_at is not None


def test_the_user_table_follows_the_passwd_file_changing_only_changed_rows(tmp_path):
    """Dovecot reads `dovecot/users.sqlite`: after each sync it holds exactly the passwd-file's lines, and a
    sync after one change touches one row (in place: Dovecot keeps the database open)."""
    import sqlite3

    from mailhosts.files import sync_files, user_table_rows
    from mailhosts.rendering import RenderedFile

    def passwd(*users):
        return "".join(
            f"{u}@bakkerij.example:{{SHA512-CRYPT}}$6$x${h}:5000:5000::/srv/mail/{u}::userdb_quota_rule=*:storage=5B\n"
            for u, h in users
        ).encode()

    def rows(database):
        with sqlite3.connect(database) as db:
            return sorted(db.execute("SELECT * FROM users"))

    database = tmp_path / "dovecot" / "users.sqlite"
    first = RenderedFile(passwd(("jan", "a"), ("piet", "b"), ("kees", "c")), 0o640, user_table=True)
    sync_files(tmp_path, {"dovecot/users": first}, ["dovecot/users"])
    assert rows(database) == sorted(user_table_rows(first.content).values())
    assert rows(database)[0] == (
        "jan@bakkerij.example",
        "{SHA512-CRYPT}$6$x$a",
        5000,
        5000,
        "/srv/mail/jan",
        "*:storage=5B",
    )
    inode = database.stat().st_ino

    second = RenderedFile(passwd(("jan", "NEW"), ("piet", "b"), ("klaas", "d")), 0o640, user_table=True)
    with sqlite3.connect(database) as db:  # count the writes the next sync makes
        db.execute("CREATE TABLE writes (what TEXT, username TEXT)")
        db.execute(
            "CREATE TRIGGER i AFTER INSERT ON users BEGIN INSERT INTO writes VALUES ('+', new.username); END"
        )
        db.execute(
            "CREATE TRIGGER d AFTER DELETE ON users BEGIN INSERT INTO writes VALUES ('-', old.username); END"
        )
    sync_files(tmp_path, {"dovecot/users": second}, ["dovecot/users"])
    assert rows(database) == sorted(user_table_rows(second.content).values())
    assert database.stat().st_ino == inode
    with sqlite3.connect(database) as db:
        writes = sorted(db.execute("SELECT what, username FROM writes"))
    assert writes == [
        ("+", "jan@bakkerij.example"),
        ("+", "klaas@bakkerij.example"),
        ("-", "kees@bakkerij.example"),
    ]
