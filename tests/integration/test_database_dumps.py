"""The panel's own database dump: a real `pg_dump` writes it whole, old dumps go after their retention, and
a dump that fails is recorded and alerts staff."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from backups import jobs
from backups.models import BackupAlert, DatabaseDump

pytestmark = [pytest.mark.integration]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_database_dump_is_written_whole_and_old_dumps_go(settings, tmp_path):
    settings.DB_BACKUP_DIR = str(tmp_path / "dumps")
    old = jobs.dump_database(now=timezone.now() - timedelta(days=31))
    assert Path(old.path).exists()
    dump = jobs.dump_database()
    assert dump.status == DatabaseDump.Status.SUCCEEDED and dump.size > 0
    assert Path(dump.path).stat().st_mode & 0o777 == 0o600
    assert not Path(old.path).exists()
    old.refresh_from_db()
    assert old.deleted_at is not None
    assert not list((tmp_path / "dumps").glob("*.partial"))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failed_database_dump_is_recorded_and_alerts_staff(settings, tmp_path, staff):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.DB_BACKUP_DIR = str(blocker / "dumps")
    with pytest.raises(OSError):
        jobs.dump_database()
    assert BackupAlert.objects.get(resolved_at__isnull=True).kind == "database"
    assert len(mail.outbox) == 1
