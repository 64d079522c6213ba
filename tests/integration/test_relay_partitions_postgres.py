"""The relay log partitioned by day on PostgreSQL (`relay.partitions`): the ingest stores each day in its own
partition (creating it when missing, however old), the nightly purge drops whole days. Needs PostgreSQL:
fails under CI=true without it."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection

from relay import partitions
from relay.ingest import ingest_lines, purge_older_than
from relay.models import RejectedAttempt, RelayEvent, RelayMessage, RelayRecipient
from relay.tasks import purge_relay_log
from tests.relay.logs import message_at

pytestmark = [pytest.mark.integration]
TABLES = list(partitions.PARTITIONED)


@pytest.fixture
def postgres(postgres, db):
    partitions.forget_known()  # partitions made by other tests were rolled back with them
    yield
    partitions.forget_known()


def today():
    return datetime.now(UTC).date()


def noon(day) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def rows_in(name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608 (a partition's name)
        return cursor.fetchone()[0]


def days_of(table: str):
    return [day for day, _name in partitions.day_partitions(table)]


def counts():
    return tuple(
        model.objects.count() for model in (RelayMessage, RelayRecipient, RelayEvent, RejectedAttempt)
    )


def test_the_four_tables_are_partitioned_by_day(postgres):
    with connection.cursor() as cursor:
        for table, key in partitions.PARTITIONED.items():
            cursor.execute(
                "SELECT pg_get_partkeydef(%s::regclass), pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "WHERE c.conrelid = %s::regclass AND c.contype = 'p'",
                [table, table],
            )
            assert cursor.fetchone() == (f"RANGE ({key})", f"PRIMARY KEY (id, {key})")


def test_a_page_of_the_newest_messages_reads_the_days_in_order(postgres, credential):
    """No DEFAULT partition: PostgreSQL reads the day partitions newest first and stops at the page's end,
    where a Merge Append would open every day's index."""
    partitions.ensure_days([today() - timedelta(days=n) for n in range(5)])
    plan = (
        RelayMessage.objects.filter(customer=credential.customer)
        .order_by("-received_at", "-id")[:51]
        .explain()
    )
    assert "Merge Append" not in plan and "Append" in plan


def test_the_ingest_creates_a_missing_day_and_stores_each_row_in_its_day(postgres, credential):
    day = today() - timedelta(days=2)
    assert day not in days_of("relay_relaymessage")
    ingest_lines(message_at(noon(day), "1A2B3C4D5E"))
    assert counts() == (1, 1, 1, 1)
    for table in TABLES:
        assert day in days_of(table)
        assert rows_in(partitions.partition_name(table, day)) == 1
    with connection.cursor() as cursor:  # the planner's statistics that a credential decides the customer
        cursor.execute(
            "SELECT stxname FROM pg_statistic_ext WHERE stxrelid = %s::regclass",
            [partitions.partition_name("relay_relaymessage", day)],
        )
        assert cursor.fetchall() == [(f"relaymsg_customer_credential_p{day:%Y%m%d}",)]
    recipient = RelayRecipient.objects.get()
    assert recipient.received_at == recipient.message.received_at == RelayEvent.objects.get().received_at

    ingest_lines(message_at(noon(day), "1A2B3C4D5E"))  # the same lines again: nothing added
    assert counts() == (1, 1, 1, 1)


def test_a_day_older_than_the_retention_gets_its_partition_and_the_next_purge_drops_it(postgres, credential):
    ancient = today() - timedelta(days=60)  # a catch-up of an old log
    ingest_lines(message_at(noon(ancient), "2B3C4D5E6F"))
    for table in TABLES:
        assert rows_in(partitions.partition_name(table, ancient)) == 1
    assert purge_older_than(30) == (1, 1)
    assert counts() == (0, 0, 0, 0)
    ingest_lines(message_at(noon(ancient), "2B3C4D5E6F"))  # its partition dropped: made again
    assert counts() == (1, 1, 1, 1)


def test_a_batch_with_a_stray_line_from_long_ago_makes_only_the_days_it_holds(postgres, credential):
    recent, stray = today() - timedelta(days=1), today() - timedelta(days=200)
    ingest_lines(message_at(noon(stray), "5E6F7A8B9C") + message_at(noon(recent), "6F7A8B9C0D"))
    days = days_of("relay_relaymessage")
    assert stray in days and recent in days
    assert today() - timedelta(days=100) not in days


def test_the_purge_drops_the_days_past_the_retention_and_keeps_the_rest(postgres, credential):
    old, older, kept, recent = (today() - timedelta(days=n) for n in (31, 35, 30, 1))
    for n, day in enumerate([older, old, kept, recent]):
        ingest_lines(message_at(noon(day), f"3C4D5E6F{n:02d}"))
    assert counts() == (4, 4, 4, 4)

    assert purge_older_than(30) == (2, 2)
    for table in TABLES:
        days = days_of(table)
        assert older not in days and old not in days
        assert kept in days and recent in days
    assert counts() == (2, 2, 2, 2)
    assert sorted(RelayMessage.objects.values_list("queue_id", flat=True)) == ["3C4D5E6F02", "3C4D5E6F03"]
    assert purge_older_than(30) == (0, 0)


def test_the_nightly_task_makes_the_days_ahead_and_purges(postgres, settings, credential):
    settings.RELAY_LOG_RETENTION_DAYS = 30
    old = today() - timedelta(days=40)
    ingest_lines(message_at(noon(old), "4D5E6F7A8B"))
    assert purge_relay_log() == (1, 1)
    for table in TABLES:
        days = days_of(table)
        assert all(today() + timedelta(days=n) in days for n in range(partitions.DAYS_AHEAD + 1))
        assert old not in days
    assert partitions.ensure_ahead() == []  # nothing left to make


def test_a_row_saved_by_itself_finds_its_days_partition(postgres, customer):
    """The admin, the demo data and tests save single rows: their day's partition is made as the ingest's are."""
    long_ago = noon(today() - timedelta(days=9))
    assert long_ago.date() not in days_of("relay_relaymessage")
    message = RelayMessage.objects.create(
        host="mx1", queue_id="ZZ0001AB", received_at=long_ago, customer=customer
    )
    RejectedAttempt.objects.create(host="mx1", at=long_ago, client_ip="192.0.2.7", line_key=987654321)
    assert long_ago.date() in days_of("relay_relaymessage")
    assert long_ago.date() in days_of("relay_rejectedattempt")
    assert RelayMessage.objects.get(pk=message.pk).received_at == long_ago
