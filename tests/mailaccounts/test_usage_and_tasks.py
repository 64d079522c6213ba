"""Usage from the Maildir on disk, safe removal of mail folders, and the periodic tasks."""

from datetime import timedelta

from django.core import mail
from django.utils import timezone

from mailaccounts import tasks, usage
from mailaccounts.models import Mailbox
from mailaccounts.services import mailboxes, storage
from mailhosts.models import MailHost
from tenants.audit import Actor


def test_mail_root_defaults_under_the_config_dir(mailbox, settings):
    host = MailHost.objects.get()
    assert usage.mail_root(host) == usage.Path(settings.MAILHOST_DEFAULT_CONFIG_DIR) / "mail"


def test_remove_mail_folder_removes_only_that_mailbox(mailbox, make_mailbox, tmp_path):
    MailHost.objects.update(mail_dir=str(tmp_path))
    mailbox.domain.mailhost.refresh_from_db()
    other = make_mailbox("kees")
    for local in ("jan", "kees"):
        (tmp_path / "bakkerij.example" / local / "cur").mkdir(parents=True)
    assert usage.remove_mail_folder(mailbox)
    assert not (tmp_path / "bakkerij.example" / "jan").exists()
    assert (tmp_path / "bakkerij.example" / "kees" / "cur").exists()
    assert not usage.remove_mail_folder(mailbox)  # already gone
    other.local_part = ".."
    assert usage.mail_folder(other) is None


def test_remove_mail_folder_refuses_a_symlink_out_of_the_root(mailbox, tmp_path):
    root, outside = tmp_path / "mail", tmp_path / "precious"
    (outside / "cur").mkdir(parents=True)
    (root / "bakkerij.example").mkdir(parents=True)
    (root / "bakkerij.example" / "jan").symlink_to(outside)
    MailHost.objects.update(mail_dir=str(root))
    mailbox.domain.mailhost.refresh_from_db()
    assert not usage.remove_mail_folder(mailbox)
    assert (outside / "cur").exists()


def sized_file(path, size: int) -> None:
    """A message file of `size` bytes, holes only (usage counts sizes, as Dovecot's quota does): 80-odd MB
    that the test need not write."""
    with open(path, "wb") as file:
        file.truncate(size)


def test_measure_usage_task_records_and_warns(mailbox, owner, tmp_path):
    MailHost.objects.update(mail_dir=str(tmp_path))
    cur = tmp_path / "bakkerij.example" / "jan" / "cur"
    cur.mkdir(parents=True)
    sized_file(cur / "big", mailbox.quota_bytes * 81 // 100)
    assert tasks.measure_usage.delay().get() == 1
    mailbox.refresh_from_db()
    assert mailbox.used_bytes == mailbox.quota_bytes * 81 // 100 and mailbox.quota_warning_level == 80
    assert len(mail.outbox) == 1
    tasks.measure_usage.delay().get()
    assert len(mail.outbox) == 1


def test_purge_task_removes_expired_deleted_mailboxes(mailbox):
    mailboxes.delete_mailbox(actor=Actor.system(), mailbox=mailbox)
    assert tasks.purge_deleted_mailboxes.delay().get() == 0
    Mailbox.objects.filter(pk=mailbox.pk).update(deleted_at=timezone.now() - timedelta(days=30, minutes=1))
    assert tasks.purge_deleted_mailboxes.delay().get() == 1
    assert not Mailbox.objects.exists()


def test_tasks_are_in_the_beat_schedule(settings):
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"mailaccounts.tasks.measure_usage", "mailaccounts.tasks.purge_deleted_mailboxes"} <= names
    assert tasks.measure_usage.name == "mailaccounts.tasks.measure_usage"
    assert tasks.purge_deleted_mailboxes.name == "mailaccounts.tasks.purge_deleted_mailboxes"


def test_measure_usage_in_batches_warns_only_the_crossing_mailbox(make_mailbox, owner, tmp_path):
    MailHost.objects.update(mail_dir=str(tmp_path))
    mailboxes = [make_mailbox(f"m{i}") for i in range(5)]
    full = tmp_path / "bakkerij.example" / "m3" / "new"
    full.mkdir(parents=True)
    sized_file(full / "1", mailboxes[3].quota_bytes * 96 // 100)
    assert storage.measure_usage(batch_size=2) == 5
    levels = dict(Mailbox.objects.values_list("local_part", "quota_warning_level"))
    assert levels == {"m0": 0, "m1": 0, "m2": 0, "m3": 95, "m4": 0}
    assert Mailbox.objects.filter(usage_measured_at__isnull=True).count() == 0
    assert len(mail.outbox) == 1 and "m3@bakkerij.example" in mail.outbox[0].body
