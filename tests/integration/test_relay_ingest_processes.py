"""The relay log's ingest with its real helpers: reader processes forked beside the writer, and a writer
thread, each on its own PostgreSQL connection, so they see only committed rows (transactional tests)."""

import os
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from relay.ingest import ingest_file
from relay.models import IngestState, RejectedAttempt, RelayMessage
from tests.relay.logs import EXPIRED, MIXED
from tests.relay.test_ingest import REFUSED, NewYearsEveClock, counts, write

pytestmark = [pytest.mark.integration]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("reader", ["inline", "child process"])
def test_outside_a_transaction_a_writer_thread_stores_batches_in_order(tmp_path, monkeypatch, reader):
    import relay.ingest.following
    import relay.ingest.lines
    import relay.ingest.pipeline

    if reader == "child process":
        monkeypatch.setattr(relay.ingest.pipeline, "CHILD_READER_MIN_BYTES", 0)
    from tests.conftest import make_customer, make_user

    owner = make_user("thread-owner@example.com")
    customer = make_customer("Thread B.V.", owner)
    from mailaccounts.models import Domain
    from mailhosts.models import MailHost
    from relay.models import RelayCredential

    domain = Domain.objects.create(
        customer=customer,
        name="bakkerij.example",
        mailhost=MailHost.objects.default(),
        verification_token="t",
        verified_at=timezone.now(),  # only a verified domain's mail is attributed to its customer (issue 15)
    )
    credential = RelayCredential.objects.create(
        customer=customer, name="shop", username="relay-7k2m9q", secret_hash="x"
    )
    credential.domains.add(domain)
    path = tmp_path / "maillog"
    write(path, MIXED + EXPIRED)
    result = ingest_file(str(path), batch_lines=4)
    assert result.lines == len((MIXED + EXPIRED).splitlines())
    assert RelayMessage.objects.get(queue_id="4F3A21C0ABC").status == "bounced"
    assert RelayMessage.objects.get(queue_id="8EAF61C0CCC").bounce_of.queue_id == "7D9E51C0BBB"
    assert IngestState.objects.get().offset == os.path.getsize(path)
    assert RelayMessage.objects.filter(customer=customer).count() == 5


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_readers_never_talk_on_the_connection_they_inherit(tmp_path, monkeypatch):
    """A reader forked while the parent's connection is open (the parent could not close it: it lived in
    another context, as under Playwright's event loop) must open its own, and leave the parent's alone."""
    from django.db import connection

    import relay.ingest.following
    import relay.ingest.lines
    import relay.ingest.pipeline

    monkeypatch.setattr(relay.ingest.pipeline, "CHILD_READER_MIN_BYTES", 0)
    monkeypatch.setattr(
        relay.ingest.pipeline.connection, "close", lambda: None
    )  # the parent's stays open at fork
    connection.ensure_connection()
    path = tmp_path / "maillog"
    write(path, MIXED + EXPIRED)
    assert ingest_file(str(path), batch_lines=4).lines == len((MIXED + EXPIRED).splitlines())
    assert counts() == (5, 6, 11, 2)  # the parent's connection still answers, and everything is there


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reader_batches_cut_by_size_take_every_line_even_one_longer_than_a_batch(tmp_path, monkeypatch):
    import relay.ingest.following
    import relay.ingest.lines
    import relay.ingest.pipeline

    monkeypatch.setattr(relay.ingest.pipeline, "CHILD_READER_MIN_BYTES", 0)
    monkeypatch.setattr(
        relay.ingest.pipeline, "BATCH_BYTES_MIN", 150
    )  # most lines are longer: one line a batch
    monkeypatch.setattr(relay.ingest.pipeline, "BATCH_BYTES_MAX", 150)
    path = tmp_path / "maillog"
    write(path, MIXED + EXPIRED)
    result = ingest_file(str(path))
    assert result.lines == len((MIXED + EXPIRED).splitlines())
    assert counts() == (5, 6, 11, 2)
    assert IngestState.objects.get().offset == os.path.getsize(path)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_readers_rows_of_a_batch_whose_writer_failed_are_merged_when_read_again(tmp_path, monkeypatch):
    """Reader processes commit a batch's new messages before the writer commits the rest with the offset.
    A writer failing in between loses nothing and doubles nothing: the next run reads the batch again, the
    readers' rows clash, and the writer merges the batch as duplicates."""
    import relay.ingest.following
    import relay.ingest.lines
    import relay.ingest.pipeline

    monkeypatch.setattr(relay.ingest.pipeline, "CHILD_READER_MIN_BYTES", 0)
    path = tmp_path / "maillog"
    write(path, MIXED + EXPIRED)
    store_batch = relay.ingest.pipeline._store_batch
    calls = []

    def failing_once(state, batch, directory):
        calls.append(batch.start)
        if len(calls) == 2:
            raise RuntimeError("the writer's database went away")
        return store_batch(state, batch, directory)

    monkeypatch.setattr(relay.ingest.pipeline, "_store_batch", failing_once)
    with pytest.raises(RuntimeError):
        ingest_file(str(path), batch_lines=6)
    assert IngestState.objects.get().offset == calls[1]  # the failed batch and those after it: not done
    result = ingest_file(str(path), batch_lines=6)
    assert result.lines == len((MIXED + EXPIRED).splitlines()) - 6
    after_failure = counts()

    RelayMessage.objects.all().delete()
    RejectedAttempt.objects.all().delete()
    IngestState.objects.all().delete()
    ingest_file(str(path), batch_lines=6)
    assert counts() == after_failure == (5, 6, 11, 2)
    assert RelayMessage.objects.get(queue_id="4F3A21C0ABC").status == "bounced"
    assert RelayMessage.objects.get(queue_id="8EAF61C0CCC").bounce_of.queue_id == "7D9E51C0BBB"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_readers_keep_the_year_across_new_year_over_batches_they_skip(tmp_path, monkeypatch, settings):
    """Each reader parses every other batch and only reads the dates of the rest (without decoding them).
    Here the second reader's first own line is already in January: only the December line it skipped tells
    it that this January is next year's, not this year's."""
    import relay.ingest.following
    import relay.ingest.lines
    import relay.ingest.pipeline

    settings.RELAY_LOG_TIMEZONE = "Europe/Amsterdam"
    monkeypatch.setattr(relay.ingest.following, "SyslogClock", NewYearsEveClock)
    monkeypatch.setattr(relay.ingest.pipeline, "CHILD_READER_MIN_BYTES", 0)
    monkeypatch.setattr(
        relay.ingest.pipeline, "BATCH_BYTES_MIN", 150
    )  # one line a batch: readers alternate lines
    monkeypatch.setattr(relay.ingest.pipeline, "BATCH_BYTES_MAX", 150)
    lines = [
        "Dec 31 23:59:59 mx1 postfix/smtpd[5101]: 1A2B3C4D50: client=mail.sender.example[198.51.100.20]",
        "Jan  1 00:00:01 mx1 postfix/qmgr[5000]: 1A2B3C4D50: from=<oud@sender.example>, size=100, nrcpt=1 (queue active)",
        "Jan  1 00:00:01 mx1 postfix/qmgr[5000]: 1A2B3C4D50: removed",
        "Jan  1 00:00:02 mx1 postfix/smtpd[5101]: 1A2B3C4D51: client=mail.sender.example[198.51.100.20]",
        "Jan  1 00:00:02 mx1 postfix/qmgr[5000]: 1A2B3C4D51: from=<nieuw@sender.example>, size=100, nrcpt=1 (queue active)",
        "Jan  1 00:00:02 mx1 postfix/qmgr[5000]: 1A2B3C4D51: removed",
    ]
    path = tmp_path / "maillog"
    write(path, "\n".join(lines) + "\n")
    assert ingest_file(str(path)).lines == len(lines)
    received = dict(RelayMessage.objects.values_list("queue_id", "received_at"))
    local = {qid: at.astimezone(ZoneInfo("Europe/Amsterdam")).year for qid, at in received.items()}
    assert local == {"1A2B3C4D50": 2026, "1A2B3C4D51": 2027}
    assert RelayMessage.objects.get(queue_id="1A2B3C4D50").removed_at is not None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_identical_lines_split_between_reader_processes_keep_their_count(tmp_path, monkeypatch):
    """Two readers, one line a batch: each counts the repeats of the batches the other parses."""
    import relay.ingest.pipeline

    monkeypatch.setattr(relay.ingest.pipeline, "CHILD_READER_MIN_BYTES", 0)
    monkeypatch.setattr(relay.ingest.pipeline, "BATCH_BYTES_MIN", 150)
    monkeypatch.setattr(relay.ingest.pipeline, "BATCH_BYTES_MAX", 150)
    path = tmp_path / "maillog"
    write(path, "\n".join([REFUSED.format(s=1)] * 5 + [REFUSED.format(s=2)] * 2) + "\n")
    ingest_file(str(path))
    assert RejectedAttempt.objects.count() == 7
    IngestState.objects.update(offset=0)
    ingest_file(str(path))
    assert RejectedAttempt.objects.count() == 7
