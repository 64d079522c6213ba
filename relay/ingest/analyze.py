"""Planner statistics for the columns ingest matches by, kept fresh as the relay tables grow."""

from django.db import connection, transaction

from ..models import RelayMessage, RelayRecipient

ANALYZE_FROM_LINES = 20_000


def crossed_doubling(before: int, after: int) -> bool:
    """True at 20k, 80k, 320k, ... lines into one run: a long catch-up refreshes planner statistics as the
    tables grow fourfold (the periodic small runs leave that to autovacuum)."""
    mark = ANALYZE_FROM_LINES
    while mark <= after:
        if before < mark:
            return True
        mark *= 4
    return False


# The columns ingest's own queries pick rows by. A small sample is enough: what the planner must learn
# is that queue ids are all but unique, which PostgreSQL keeps as a fraction of the rows, so it stays true as
# the table grows; a full ANALYZE of every column took ten times as long, each time.
# The receipt time too: the lookups name it (from a day on, to leave out older days' partitions), and without
# its histogram the planner took that range for a selective one and read whole days by the receipt index.
ANALYZED_COLUMNS = ("queue_id", "host", "bounce_queue_id", "received_at")  # of the messages
# The merge reads and updates the recipients of messages that go on from an earlier batch (a deferred
# message's retries) by message id. Without statistics (partitions of days never analyzed, such as a long
# catch-up's) the planner took the recipient table for a small one and read every partition whole, twice a
# batch; once it knows how many rows the partitions hold, it looks each message's recipients up by index.
ANALYZED_RECIPIENT_COLUMNS = ("message",)
ANALYZE_SAMPLE_TARGET = 10  # PostgreSQL samples 300 rows per unit: 3,000 rows


def analyze_relay_tables() -> None:
    if connection.vendor != "postgresql":
        return
    # Events are only ever reached through the message's id, and only as a message's timeline.
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL default_statistics_target = {ANALYZE_SAMPLE_TARGET}")
        try:
            for model, names in (
                (RelayMessage, ANALYZED_COLUMNS),
                (RelayRecipient, ANALYZED_RECIPIENT_COLUMNS),
            ):
                columns = ", ".join(quote(model._meta.get_field(name).column) for name in names)
                cursor.execute(f"ANALYZE {quote(model._meta.db_table)} ({columns})")
        finally:  # within an outer transaction, SET LOCAL would otherwise last until it ends
            cursor.execute("SET LOCAL default_statistics_target TO DEFAULT")
