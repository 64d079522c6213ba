"""What an ingest run reports, and the sizes it works in."""

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

BATCH_LINES = 100_000
BULK_SIZE = 2_000
# A message stays in Postfix's queue at most `maximal_queue_lifetime` (5 days by default); a queue id seen
# again after longer than this is a new message.
QUEUE_LIFETIME = timedelta(days=7)


@dataclass
class IngestResult:
    lines: int = 0
    messages: int = 0
    rejects: int = 0

    def add(self, other: "IngestResult") -> None:
        self.lines += other.lines
        self.messages += other.messages
        self.rejects += other.rejects


def log_timezone():
    return ZoneInfo(settings.RELAY_LOG_TIMEZONE)
