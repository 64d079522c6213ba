"""Staff see backup health: a missing nightly backup or dump raises one alert (admin banner and one e-mail
to staff), a successful run resolves it. The panel's database dump (a real pg_dump) is tested in
tests/integration/test_database_dumps.py."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from backups import jobs
from backups.models import BackupAlert, BackupRun
from mailhosts.models import MailHost

pytestmark = pytest.mark.django_db


def test_a_host_without_a_recent_backup_raises_one_alert_mailed_to_staff(staff, staff_client, settings):
    settings.DB_BACKUP_ENABLED = False
    host = MailHost.objects.default()
    BackupRun.objects.create(
        host=host,
        status="succeeded",
        started_at=timezone.now() - timedelta(hours=30),
        finished_at=timezone.now(),
    )
    opened = jobs.check_backup_health()
    assert [(a.host, a.kind) for a in opened] == [(host, "missing")]
    assert jobs.check_backup_health() == []  # still open: not mailed again
    assert [m.to for m in mail.outbox] == [[staff.email]]
    assert "No recent backup" in mail.outbox[0].subject
    assert "backup-alerts" in staff_client.get("/admin/").content.decode()
    health = staff_client.get("/admin/backups/hostbackup/").content.decode()
    assert host.name in health and "No recent backup" in health


def test_a_recent_successful_backup_raises_nothing(settings):
    settings.DB_BACKUP_ENABLED = False
    BackupRun.objects.create(host=MailHost.objects.default(), status="succeeded", finished_at=timezone.now())
    assert jobs.check_backup_health() == []
    assert not BackupAlert.objects.exists()


def test_customers_do_not_see_the_alert_banner(owner_client, settings):
    settings.DB_BACKUP_ENABLED = False
    MailHost.objects.default()
    jobs.check_backup_health()
    assert BackupAlert.objects.exists()
    assert "backup-alerts" not in owner_client.get("/").content.decode()


def test_the_renderer_gives_dovecot_the_api_key_and_hides_the_deleted_mail(settings):
    from mailhosts.rendering import render_host

    settings.DOVEADM_API_KEY = "sleutel-123"
    files = render_host(MailHost.objects.default()).files
    assert files["dovecot/doveadm-api-key"].content == b"sleutel-123"
    assert files["dovecot/doveadm-api-key"].mode == 0o640
    assert files["dovecot/lazy-expunge.acl"].content == b".EXPUNGED owner \n.EXPUNGED/* owner \n"


def test_backed_up_paths_are_a_list_other_capabilities_add_to(tmp_path):
    from backups.sources import BackupSource, backup_sources, paths_to_back_up, register_backup_source

    host = MailHost.objects.default()
    host.mail_root.mkdir(parents=True, exist_ok=True)
    calendars = tmp_path / "collections"
    calendars.mkdir()
    register_backup_source(BackupSource("test-calendars", lambda h: [calendars, tmp_path / "missing"]))
    try:
        assert paths_to_back_up(host) == sorted([str(host.mail_root.resolve()), str(calendars)])
    finally:
        from backups import sources

        sources._sources.pop("test-calendars")
    assert [s.name for s in backup_sources()] == ["mail", "calendars"]


def test_the_calendars_and_address_books_are_part_of_the_hosts_backup(tmp_path):
    """Radicale's storage folder of the host (the device settings' `dav_storage_dir`) is backed up with the
    mail, once it exists."""
    from backups.sources import paths_to_back_up
    from devices.models import ClientEndpoints

    host = MailHost.objects.default()
    host.mail_root.mkdir(parents=True, exist_ok=True)
    collections = tmp_path / "radicale" / "collections"
    ClientEndpoints.objects.create(mailhost=host, dav_storage_dir=str(collections))
    assert paths_to_back_up(host) == [str(host.mail_root.resolve())]  # nothing there yet
    collections.mkdir(parents=True)
    assert paths_to_back_up(host) == sorted([str(host.mail_root.resolve()), str(collections)])


def test_snapshots_and_dumps_are_kept_thirty_days_by_default():
    from django.conf import settings as django_settings

    assert django_settings.BACKUP_KEEP_DAILY == 30 and django_settings.DB_BACKUP_KEEP_DAYS == 30
    assert django_settings.DELETED_MAIL_RETENTION_DAYS == 30


def test_a_failed_nightly_backup_is_retried_later_with_backoff(monkeypatch):
    """The task retries (1, 2, 4 ... minutes, a little jitter) instead of failing once; the job has already
    recorded the failure and alerted staff (tests/integration: a broken repository)."""
    from celery.exceptions import Retry

    from backups import tasks
    from backups.restic import ResticError

    host = MailHost.objects.default()

    def broken(*, host):
        raise ResticError("the repository is unreachable")

    retried = []

    def retry(*, exc, countdown):
        retried.append((exc, countdown))
        return Retry()

    monkeypatch.setattr(jobs, "backup_host", broken)
    monkeypatch.setattr(tasks.backup_mailhost, "retry", retry)
    tasks.backup_mailhost.push_request(retries=2, is_eager=False)
    try:
        with pytest.raises(Retry):
            tasks.backup_mailhost.run(host.pk)
    finally:
        tasks.backup_mailhost.pop_request()
    [(error, countdown)] = retried
    assert isinstance(error, ResticError) and 4 * 60 * 0.8 <= countdown <= 4 * 60 * 1.2
    assert tasks.backup_mailhost.max_retries >= 3


def test_every_enabled_host_is_backed_up_each_night_on_its_own_queue(settings, monkeypatch):
    from backups import tasks

    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"backups.tasks.backup_all_hosts", "backups.tasks.dump_database"} <= schedule.keys()
    assert "backups.tasks.check_backup_health" in schedule
    default = MailHost.objects.default()
    second = MailHost.objects.create(name="mx2", hostname="mx2.postbode.localhost", queue="mailhost.mx2")
    MailHost.objects.create(
        name="mx3", hostname="mx3.postbode.localhost", queue="mailhost.mx3", enabled=False
    )
    sent = []
    monkeypatch.setattr(tasks.backup_mailhost, "apply_async", lambda args, queue: sent.append((args, queue)))
    assert sorted(tasks.backup_all_hosts()) == ["mx1", "mx2"]
    assert sorted(sent) == sorted([([default.pk], default.queue), ([second.pk], "mailhost.mx2")])


def test_staff_enter_the_doveadm_api_without_a_scheme_and_it_stays_http(staff_client):
    """The doveadm HTTP API listens on the host's private address over plain HTTP (its help text says so); an
    address typed without a scheme is read as http://, as it was before Django 6 assumes https://."""
    host = MailHost.objects.default()
    response = staff_client.post(
        "/admin/backups/hostdoveadm/add/", {"host": host.pk, "url": "10.0.0.5:8080/doveadm/v1"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert host.doveadm_api.url == "http://10.0.0.5:8080/doveadm/v1"
