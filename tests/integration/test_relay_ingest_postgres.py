"""The relay log's PostgreSQL-only parts: the planner statistics ingest keeps, and those searches need."""

import pytest
from django.db import connection

import relay.ingest.analyze
import relay.ingest.pipeline
from relay.ingest import ingest_file
from relay.ingest.analyze import ANALYZED_COLUMNS
from tests.relay.logs import EXPIRED, MIXED

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def statistics_target() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW default_statistics_target")
        return cursor.fetchone()[0]


def test_a_long_catch_up_teaches_the_planner_that_queue_ids_are_unique(postgres, tmp_path, monkeypatch):
    """Ingest matches messages by queue id: once the table has statistics, the planner knows queue ids are
    (all but) unique, kept as a fraction of the rows that stays true as the table grows. They come from a
    small sample of the columns ingest picks by, and the session's own sampling setting is left alone."""
    analyzed = []
    monkeypatch.setattr(relay.ingest.analyze, "ANALYZE_FROM_LINES", 5)
    before = statistics_target()
    path = tmp_path / "maillog"
    path.write_text(MIXED + EXPIRED)
    real = relay.ingest.analyze.analyze_relay_tables

    def counting():
        analyzed.append(True)
        real()

    monkeypatch.setattr(relay.ingest.pipeline, "analyze_relay_tables", counting)
    ingest_file(str(path), batch_lines=4)
    assert analyzed  # 5, 20, ... lines into the run

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, n_distinct FROM pg_stats WHERE tablename = %s",
            ["relay_relaymessage"],
        )
        stats = dict(cursor.fetchall())
    assert set(ANALYZED_COLUMNS) <= set(stats)
    assert stats["queue_id"] == -1  # every sampled queue id distinct: "unique", whatever the row count
    assert statistics_target() == before


def test_the_credential_filter_can_use_its_partial_index(postgres):
    """The index on (credential, received_at) leaves out messages without a credential; a filter naming
    a credential must still be able to use it."""
    from relay import partitions
    from relay.models import RelayMessage

    partitions.ensure_ahead()  # a day's partition to plan for (the table itself holds no rows)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = RelayMessage.objects.filter(credential_id=7).order_by("-received_at")[:50].explain()
        cursor.execute("SET LOCAL enable_seqscan TO DEFAULT")
    assert index_used(plan, "relaymsg_credential_time")


def index_used(plan: str, index: str) -> bool:
    """The index, or on a table partitioned by day (`relay.partitions`) one of its partitions' indexes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [index],
        )
        names = {index} | {name for (name,) in cursor.fetchall()}
    return any(f" {name} " in plan for name in names)


def test_the_planner_knows_a_credential_decides_the_customer(postgres):
    """Without the dependency statistics the planner takes (customer, credential) for independent and sorts
    a credential's whole history for one page; with them it reads the newest from the credential's index."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT stxkind FROM pg_statistic_ext WHERE stxname = %s AND stxrelid = %s::regclass",
            ["relaymsg_customer_credential", "relay_relaymessage"],
        )
        assert cursor.fetchone() == (["f"],)
