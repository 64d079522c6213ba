"""Backups from a shell:

manage.py backups run [--host NAME]          back up now (in this process), every enabled host or one
manage.py backups snapshots --host NAME      the snapshots the panel knows of
manage.py backups health                     alerts for failed or missing backups (as the hourly task)
manage.py backups dump-database              pg_dump of the panel's database into DB_BACKUP_DIR
manage.py backups restore-database FILE --into postgres://...   load a dump into an empty database
manage.py backups count-rows                 rows per table as JSON (the restore rehearsal compares them)
"""

import json
from pathlib import Path

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from mailhosts.models import MailHost

from ... import jobs
from ...models import Snapshot
from ...restic import ResticError


class Command(BaseCommand):
    help = "Back up mail hosts, dump and restore the panel's database, check backup health."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run")
        run.add_argument("--host")
        snapshots = sub.add_parser("snapshots")
        snapshots.add_argument("--host", required=True)
        sub.add_parser("health")
        sub.add_parser("dump-database")
        restore = sub.add_parser("restore-database")
        restore.add_argument("file")
        restore.add_argument("--into", required=True, help="URL of an existing, empty PostgreSQL database")
        sub.add_parser("count-rows")

    def handle(self, *args, action, **options):
        getattr(self, "do_" + action.replace("-", "_"))(**options)

    def do_run(self, host=None, **options):
        hosts = MailHost.objects.filter(enabled=True)
        if host:
            hosts = hosts.filter(name=host)
            if not hosts.exists():
                raise CommandError(f"no enabled mail host named {host!r}")
        failed = False
        for mailhost in hosts:
            try:
                run = jobs.backup_host(host=mailhost)
            except (ResticError, jobs.BackupBusy, OSError) as error:
                self.stderr.write(f"{mailhost.name}: failed: {error}")
                failed = True
                continue
            self.stdout.write(
                f"{mailhost.name}: snapshot {run.snapshot_id[:8]} in {run.duration.total_seconds():.1f} s, "
                f"{run.bytes_total} bytes, {run.bytes_added} new"
            )
        if failed:
            raise CommandError("some backups failed")

    def do_snapshots(self, host, **options):
        for snapshot in Snapshot.objects.filter(host__name=host):
            self.stdout.write(
                f"{snapshot.taken_at:%Y-%m-%d %H:%M:%S}  {snapshot.snapshot_id[:8]}  {snapshot.mailboxes.count()} mailboxes"
            )

    def do_health(self, **options):
        for alert in jobs.check_backup_health():
            self.stdout.write(f"alert: {alert}: {alert.message}")

    def do_dump_database(self, **options):
        dump = jobs.dump_database()
        self.stdout.write(f"{dump.path} ({dump.size} bytes)")

    def do_restore_database(self, file, into, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"no such file: {file}")
        try:
            jobs.restore_database(dump_path=path, database_url=into)
        except RuntimeError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"restored {path} into {into.rsplit('@', 1)[-1]}")

    def do_count_rows(self, **options):
        counts = {model._meta.label: model._default_manager.count() for model in apps.get_models()}
        self.stdout.write(json.dumps(counts, indent=1, sort_keys=True))
