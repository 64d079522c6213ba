"""`relaylog ingest FILE... [--host NAME]` and `relaylog export [--format jsonl|csv] [--customer ID] ...`."""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from relay import rollup
from relay.export import csv_lines, jsonl_lines, records
from relay.ingest import ingest_file


def _aware(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"not an ISO 8601 date or time: {text!r}") from error
    return value if timezone.is_aware(value) else timezone.make_aware(value)


class Command(BaseCommand):
    help = "Ingest Postfix log files into the relay log, or export the relay log."
    # A data command, run by hand or after a catch-up as the Celery worker's periodic ingest runs (without
    # checks): Django's system checks load every URL and admin of the panel first, a third of a second of
    # its start (`manage.py check` runs them on a deploy).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        ingest = actions.add_parser("ingest", help="read Postfix log files (incrementally, idempotently)")
        ingest.add_argument("files", nargs="+", metavar="FILE")
        ingest.add_argument("--host", help="mail host name to record (default: the name in the log lines)")
        export = actions.add_parser("export", help="write the relay log to standard output")
        export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
        export.add_argument("--customer", type=int, metavar="ID")
        export.add_argument("--since", metavar="ISO")
        export.add_argument("--until", metavar="ISO")

    def handle(self, *args, **options):
        if options["action"] == "ingest":
            self.ingest(options["files"], options["host"])
        else:
            self.export(options)

    def ingest(self, files, host):
        for path in files:
            try:
                result = ingest_file(path, host=host)
            except OSError as error:
                raise CommandError(f"{path}: {error}") from error
            self.stdout.write(
                f"{path}: {result.lines} lines, {result.messages} new messages, {result.rejects} rejected attempts"
            )
        rollup.refresh()

    def export(self, options):
        stream = records(
            customer_id=options["customer"], since=_aware(options["since"]), until=_aware(options["until"])
        )
        writer = jsonl_lines if options["format"] == "jsonl" else csv_lines
        for chunk in writer(stream):
            self.stdout.write(chunk, ending="")
