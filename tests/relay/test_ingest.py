import json
import os
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core import checks
from django.core.management import ManagementUtility, call_command
from django.utils import timezone

from relay import partitions
from relay.ingest import ingest_file, ingest_lines, purge_older_than
from relay.models import IngestState, RejectedAttempt, RelayEvent, RelayMessage, RelayRecipient
from relay.parser import SyslogClock
from tests.relay.logs import EXPIRED, GARBAGE, MIXED, RFC3339_LONG_IDS


def counts():
    """Messages, recipients, timeline entries (stored events and the final attempts recipients stand for:
    each attempt in one place only), rejected attempts."""
    return (
        RelayMessage.objects.count(),
        RelayRecipient.objects.count(),
        RelayEvent.objects.count() + RelayRecipient.objects.filter(line_key__isnull=False).count(),
        RejectedAttempt.objects.count(),
    )


def write(path, text, mode="w"):
    with open(path, mode) as log:
        log.write(text)


def test_a_log_is_stored_as_messages_recipients_events_and_rejects(db, credential):
    ingest_lines(MIXED.splitlines())
    assert counts() == (3, 5, 7, 2)
    # Of the seven timeline entries, the five final attempts (sent, bounced) live on their recipient rows;
    # the greylisting deferral and the bounce notice are event rows.
    assert sorted(RelayEvent.objects.values_list("kind", "status")) == [
        ("attempt", "deferred"),
        ("bounce_notice", ""),
    ]
    recorded = [r.recorded_attempt() for r in RelayRecipient.objects.order_by("address")]
    assert [(e.recipient, e.status, e.dsn) for e in recorded] == [
        ("anna@klant.example", "sent", "2.0.0"),
        ("jan@bakkerij.example", "sent", "2.0.0"),
        ("nobody@klant.example", "bounced", "5.1.1"),
        ("piet@traag.example", "sent", "2.0.0"),
        ("shop@bakkerij.example", "sent", "2.0.0"),
    ]
    order = RelayMessage.objects.get(queue_id="4F3A21C0ABC")
    assert order.status == "bounced"
    assert order.customer == credential.customer
    assert order.credential == credential
    assert order.direction == "outbound"
    assert order.removed_at is not None
    assert {r.address: r.status for r in order.recipients.all()} == {
        "anna@klant.example": "sent",
        "nobody@klant.example": "bounced",
        "piet@traag.example": "sent",
    }
    credential.refresh_from_db()
    assert credential.last_used_at == order.received_at


def test_bounce_notification_is_linked_and_belongs_to_the_same_customer(db, credential):
    ingest_lines(MIXED.splitlines())
    notification = RelayMessage.objects.get(queue_id="5B7C31C0DEF")
    assert notification.bounce_of.queue_id == "4F3A21C0ABC"
    assert notification.customer == credential.customer


def test_inbound_alias_delivery_belongs_to_the_recipient_domains_customer(db, domain):
    ingest_lines(MIXED.splitlines())
    inbound = RelayMessage.objects.get(queue_id="6C8D41C0AAA")
    assert inbound.customer == domain.customer
    assert inbound.direction == "inbound"
    assert inbound.recipients.get().orig_to == "info@bakkerij.example"


def test_rejects_are_attributed_to_the_credential_not_the_forged_domain(db, credential, other_domain):
    ingest_lines(MIXED.splitlines())
    forged = RejectedAttempt.objects.get(sender="ceo@concurrent.example")
    assert forged.customer == credential.customer
    assert forged.credential == credential
    assert RejectedAttempt.objects.get(sender="spam@spam.example").customer is None


def test_ingesting_the_same_lines_twice_adds_nothing(db, credential):
    ingest_lines(MIXED.splitlines())
    first = counts()
    ingest_lines(MIXED.splitlines())
    assert counts() == first
    assert RelayMessage.objects.get(queue_id="4F3A21C0ABC").status == "bounced"


def test_re_reading_a_file_from_the_start_adds_nothing(db, credential, tmp_path):
    path = tmp_path / "maillog"
    write(path, MIXED)
    ingest_file(str(path))
    first = counts()
    IngestState.objects.update(offset=0)
    ingest_file(str(path))
    assert counts() == first


def test_small_batches_give_the_same_result_as_one(db, credential, tmp_path):
    path = tmp_path / "maillog"
    write(path, MIXED + EXPIRED)
    ingest_file(str(path), batch_lines=3)
    assert RelayMessage.objects.count() == 5
    assert RelayMessage.objects.get(queue_id="4F3A21C0ABC").status == "bounced"
    piet = RelayRecipient.objects.get(address="piet@traag.example")
    assert (piet.status, piet.dsn) == ("sent", "2.0.0")
    assert RelayMessage.objects.get(queue_id="7D9E51C0BBB").status == "expired"
    assert RelayMessage.objects.get(queue_id="8EAF61C0CCC").bounce_of.queue_id == "7D9E51C0BBB"


def test_ingest_is_incremental_and_waits_for_a_whole_last_line(db, credential, tmp_path):
    path = tmp_path / "maillog"
    lines = MIXED.splitlines(keepends=True)
    write(path, "".join(lines[:12]) + lines[12][:30])
    ingest_file(str(path))
    state = IngestState.objects.get()
    assert state.offset == sum(len(line) for line in lines[:12])
    assert RelayRecipient.objects.get(address="piet@traag.example").status == "deferred"
    write(path, lines[12][30:] + "".join(lines[13:]), mode="a")
    result = ingest_file(str(path))
    assert result.lines == len(lines) - 12
    assert RelayRecipient.objects.get(address="piet@traag.example").status == "sent"
    assert RelayMessage.objects.get(queue_id="5B7C31C0DEF").bounce_of.queue_id == "4F3A21C0ABC"


def test_a_log_rotated_half_way_is_followed_by_inode(db, credential, tmp_path):
    path = tmp_path / "maillog"
    lines = MIXED.splitlines(keepends=True)
    write(path, "".join(lines[:8]))
    ingest_file(str(path))
    # Postfix wrote a few more lines, then the log was rotated and a new file started.
    write(path, "".join(lines[8:14]), mode="a")
    os.rename(path, tmp_path / "maillog.1")
    write(path, "".join(lines[14:]))
    ingest_file(str(path))
    assert counts() == (3, 5, 7, 2)
    assert RelayMessage.objects.get(queue_id="4F3A21C0ABC").status == "bounced"
    state = IngestState.objects.get()
    assert state.inode == os.stat(path).st_ino
    assert state.offset == os.path.getsize(path)


def test_a_file_truncated_in_place_is_read_from_the_start(db, credential, tmp_path):
    path = tmp_path / "maillog"
    write(path, MIXED)
    ingest_file(str(path))
    write(path, RFC3339_LONG_IDS)
    ingest_file(str(path))
    assert RelayMessage.objects.filter(queue_id="4dLh3V2XkLz1bQr").exists()


def test_deferral_and_expiry_in_separate_runs_end_as_expired(db, credential, tmp_path):
    path = tmp_path / "maillog"
    lines = EXPIRED.splitlines(keepends=True)
    write(path, "".join(lines[:5]))
    ingest_file(str(path))
    assert RelayMessage.objects.get(queue_id="7D9E51C0BBB").status == "deferred"
    write(path, "".join(lines[5:]), mode="a")
    ingest_file(str(path))
    message = RelayMessage.objects.get(queue_id="7D9E51C0BBB")
    assert message.status == "expired"
    assert message.recipients.get().status == "expired"
    assert message.bounce_notifications.get().queue_id == "8EAF61C0CCC"


def test_garbage_in_the_log_is_skipped(db, credential, tmp_path):
    path = tmp_path / "maillog"
    with open(path, "wb") as log:
        log.write(b"\xff\xfe\x00\x81binary\x9c\xef\n")
        log.write("\n".join(GARBAGE).encode() + b"\n")
        log.write(MIXED.encode())
    ingest_file(str(path))
    assert counts() == (3, 5, 7, 2)


def received_at(messages, at) -> None:
    """Move messages to another receipt time, with the copy of it their recipients and events keep (the
    partition key, `relay.partitions`: on PostgreSQL the day's partition is made first, as the ingest would)."""
    partitions.ensure_days([partitions.utc_day(at)])
    ids = list(messages.values_list("pk", flat=True))
    RelayMessage.objects.filter(pk__in=ids).update(received_at=at)
    RelayRecipient.objects.filter(message_id__in=ids).update(received_at=at)
    RelayEvent.objects.filter(message_id__in=ids).update(received_at=at)


def test_purge_removes_what_is_older_than_the_retention(db, credential):
    ingest_lines(MIXED.splitlines())
    received_at(RelayMessage.objects.filter(queue_id="6C8D41C0AAA"), timezone.now() - timedelta(days=31))
    partitions.ensure_days([partitions.utc_day(timezone.now() - timedelta(days=31))])
    RejectedAttempt.objects.filter(sender="spam@spam.example").update(at=timezone.now() - timedelta(days=31))
    received_at(RelayMessage.objects.exclude(queue_id="6C8D41C0AAA"), timezone.now())
    RejectedAttempt.objects.exclude(sender="spam@spam.example").update(at=timezone.now())
    assert purge_older_than(30) == (1, 1)
    assert not RelayMessage.objects.filter(queue_id="6C8D41C0AAA").exists()
    assert not RelayRecipient.objects.filter(address="jan@bakkerij.example").exists()
    assert RelayMessage.objects.count() == 2
    assert RejectedAttempt.objects.count() == 1


def test_relaylog_command_ingests_and_exports_json_lines(db, credential, tmp_path):
    path = tmp_path / "maillog"
    write(path, MIXED)
    out = StringIO()
    call_command("relaylog", "ingest", str(path), "--host", "mx7", stdout=out)
    assert "3 new messages" in out.getvalue()
    out = StringIO()
    call_command("relaylog", "export", "--customer", str(credential.customer_id), stdout=out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    order = next(r for r in records if r["queue_id"] == "4F3A21C0ABC")
    assert set(order) == {
        "queue_id",
        "host",
        "received_at",
        "sender",
        "sasl_username",
        "customer",
        "message_id",
        "size",
        "recipients",
    }
    assert order["host"] == "mx7"
    assert order["customer"] == credential.customer_id
    assert set(order["recipients"][0]) == {
        "to",
        "orig_to",
        "status",
        "dsn",
        "relay",
        "delay",
        "response",
        "at",
    }
    rejected = [r for r in records if r["queue_id"] is None]
    assert rejected == [
        {
            "queue_id": None,
            "status": "rejected",
            "client_ip": "203.0.113.5",
            "sender": "ceo@concurrent.example",
            "to": "x@y.example",
            "dsn": "5.7.1",
            "response": rejected[0]["response"],
            "at": rejected[0]["at"],
        }
    ]


def test_the_relaylog_command_starts_without_the_panels_system_checks(db, tmp_path, capsys):
    """Run as from the shell (checks are run there, not by call_command): a failing check of the panel's does
    not hold up an ingest, whose start it would lengthen by loading every URL and admin."""
    path = tmp_path / "maillog"
    write(path, MIXED)

    def failing(app_configs, **kwargs):
        return [checks.Error("a check that fails", id="tests.E001")]

    checks.register(failing)
    try:
        ManagementUtility(["manage.py", "relaylog", "ingest", str(path), "--host", "mx7"]).execute()
    finally:
        checks.registry.registry.registered_checks.discard(failing)
    assert "3 new messages" in capsys.readouterr().out


def test_relaylog_export_csv_and_time_range(db, credential):
    ingest_lines(MIXED.splitlines())
    received = RelayMessage.objects.get(queue_id="4F3A21C0ABC").received_at
    out = StringIO()
    call_command("relaylog", "export", "--format", "csv", "--since", received.isoformat(), stdout=out)
    rows = out.getvalue().splitlines()
    assert rows[0].startswith("received_at,queue_id,host")
    assert sum("4F3A21C0ABC" in row for row in rows) == 3


def test_a_bounce_notice_logged_after_removed_joins_its_message(db, credential):
    lines = MIXED.splitlines()
    removed = lines.pop()
    lines.insert(lines.index(next(line for line in lines if "sender non-delivery" in line)), removed)
    ingest_lines(lines)
    assert RelayMessage.objects.filter(queue_id="4F3A21C0ABC").count() == 1
    assert RelayMessage.objects.get(queue_id="5B7C31C0DEF").bounce_of.queue_id == "4F3A21C0ABC"


def test_syslog_times_are_read_in_the_mail_hosts_time_zone(db, settings):
    settings.RELAY_LOG_TIMEZONE = "Europe/Amsterdam"
    ingest_lines(RFC3339_LONG_IDS.splitlines() + MIXED.splitlines())
    syslog = RelayMessage.objects.get(queue_id="4F3A21C0ABC").received_at
    assert (syslog.month, syslog.day, syslog.hour, syslog.minute) == (11, 30, 19, 15)  # 20:15 CET
    rfc3339 = RelayMessage.objects.get(queue_id="4dLh3V2XkLz1bQr").received_at
    assert (rfc3339.hour, rfc3339.minute) == (20, 0)  # 21:00+01:00, whatever the setting


def test_relaylog_export_refuses_a_bad_date_and_reports_unreadable_files(db, tmp_path):
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("relaylog", "export", "--since", "yesterday-ish", stdout=StringIO())
    directory = tmp_path / "a-directory"
    directory.mkdir()
    with pytest.raises(CommandError):
        call_command("relaylog", "ingest", str(directory), stdout=StringIO())


def test_relaylog_export_for_one_customer_leaves_out_the_others(db, credential, other_domain):
    ingest_lines(MIXED.splitlines())
    ingest_lines(
        MIXED.replace("bakkerij.example", "concurrent.example")
        .replace("6C8D41C0AAA", "7C8D41C0AAA")
        .splitlines()
    )
    out = StringIO()
    call_command("relaylog", "export", "--customer", str(other_domain.customer_id), stdout=out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["queue_id"] for r in records] == ["7C8D41C0AAA"]


def test_over_long_fields_and_a_bogus_client_address_are_stored_not_fatal(db, credential):
    """Every value fits its column: a garbled or hostile line can never stop the ingest of a log."""
    qid = "4dLh3V2XkLz" + "1bQr" * 12  # a long queue id, longer than its column
    lines = [
        f"Nov 30 20:15:12 {'h' * 150} postfix/smtpd[1]: {qid}: client={'c' * 400}[1.2.3], "
        f"sasl_method=PLAIN, sasl_username={'u' * 400}",
        "Nov 30 20:15:13 mx1 postfix/smtp[2]: 5C8D41C0AAA: to=<a@b.example>, relay=none, delay=1, "
        "dsn=4.4.1.1.1.1.1.1.1, status=deferred (timeout)",
        f"Nov 30 20:15:14 mx1 postfix/bounce[3]: 5C8D41C0AAA: sender non-delivery notification: {'D' * 50}",
    ]
    ingest_lines(lines)
    first = RelayMessage.objects.get(queue_id__startswith="4dLh3V2XkLz")
    assert (len(first.queue_id), len(first.host), len(first.client), len(first.sasl_username)) == (
        32,
        100,
        300,
        320,
    )
    assert first.client_ip is None
    second = RelayMessage.objects.get(queue_id="5C8D41C0AAA")
    assert len(second.bounce_queue_id) == 32
    assert second.recipients.get().dsn == "4.4.1.1.1.1."


def test_tabs_and_backslashes_in_values_survive_the_bulk_copy(db, credential):
    lines = [
        "Nov 30 20:15:12 mx1 postfix/smtpd[1]: 6D8D41C0AAA: client=mail.sender.example[198.51.100.20]",
        "Nov 30 20:15:12 mx1 postfix/cleanup[2]: 6D8D41C0AAA: message-id=<a\\b\tc@sender.example>",
        "Nov 30 20:15:12 mx1 postfix/qmgr[3]: 6D8D41C0AAA: from=<klant@sender.example>, size=10, nrcpt=1 (queue active)",
        "Nov 30 20:15:13 mx1 postfix/lmtp[4]: 6D8D41C0AAA: to=<jan@bakkerij.example>, relay=127.0.0.1[127.0.0.1]:24, "
        "delay=0.1, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 \\N\tsaved\\ \x85\u2028)",
        "Nov 30 20:15:13 mx1 postfix/lmtp[4]: 6D8D41C0AAA: to=<kees@bakkerij.example>, relay=127.0.0.1[127.0.0.1]:24, "
        "delay=0.1, delays=0/0/0/0, dsn=4.2.2, status=deferred (452 4.2.2 \\N\tfull\\ \x85\u2028)",
    ]
    ingest_lines(lines)
    message = RelayMessage.objects.get(queue_id="6D8D41C0AAA")
    assert message.message_id == "a\\b\tc@sender.example"
    assert (
        message.recipients.get(address="jan@bakkerij.example").response == "250 2.0.0 \\N\tsaved\\ \x85\u2028"
    )
    assert message.events.get().response == "452 4.2.2 \\N\tfull\\ \x85\u2028"


def test_batches_are_the_same_whatever_the_read_chunk(tmp_path, monkeypatch):
    """Lines are read a megabyte at a time; a line across two chunks, a batch ending inside a chunk and an
    unfinished last line must all come out as whole lines, the file positioned right after the batch."""
    import relay.ingest.following
    import relay.ingest.lines
    import relay.ingest.pipeline

    path = tmp_path / "maillog"
    # Multi-byte characters (split across chunks of one byte), a broken byte and a lone carriage return.
    odd = ["Nov 30 20:20:59 mx1 postfix/smtpd[2001]: warning: h\u00e9llo \u2603 \udcff\rx\n"]
    lines = [
        line.encode("utf-8", "surrogateescape") for line in (MIXED + EXPIRED).splitlines(keepends=True) + odd
    ]
    path.write_bytes(b"".join(lines) + b"Nov 30 20:21:00 mx1 postfix/qmgr[2000]: 4F3A")  # unfinished
    expected = [line.rstrip(b"\n").decode("utf-8", "replace") for line in lines]
    assert "\ufffd" in expected[-1] and "\r" in expected[-1]
    for chunk in (1, 7, 64, 1 << 20):
        monkeypatch.setattr(relay.ingest.lines, "READ_CHUNK", chunk)
        got, read = [], 0
        with open(path, "rb") as log:
            while batch := relay.ingest.lines._read_batch(log, 4, 10**9):
                if not batch[0]:
                    break
                got.extend(batch[0])
                read += batch[1]
                assert log.tell() == read == sum(map(len, lines[: len(got)]))
        assert got == expected
        with open(path, "rb") as log:  # up to a byte limit: the lines that end within it
            limited, consumed = relay.ingest.lines._read_batch(log, 100, len(lines[0]) + 6)
        assert (limited, consumed) == ([expected[0]], len(lines[0]))


REDELIVERED = [
    "Nov 30 20:15:12 mx1 postfix/smtpd[1]: 6D8D41C0AAA: client=mail.sender.example[198.51.100.20]",
    "Nov 30 20:15:12 mx1 postfix/qmgr[3]: 6D8D41C0AAA: from=<klant@sender.example>, size=10, nrcpt=1 (queue active)",
    "Nov 30 20:15:13 mx1 postfix/lmtp[4]: 6D8D41C0AAA: to=<jan@bakkerij.example>, relay=127.0.0.1[127.0.0.1]:24, "
    "delay=0.1, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 first)",
    # Requeued by staff (postsuper -r) and delivered again a minute later.
    "Nov 30 20:16:13 mx1 postfix/lmtp[4]: 6D8D41C0AAA: to=<jan@bakkerij.example>, relay=127.0.0.1[127.0.0.1]:24, "
    "delay=61, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 second)",
]


def timeline_of(queue_id):
    from relay.models import timeline_events

    message = RelayMessage.objects.get(queue_id=queue_id)
    return [(e.status, e.response) for e in timeline_events(message.events.all(), message.recipients.all())]


@pytest.mark.parametrize("split", [None, 3, 4], ids=["one batch", "second attempt later", "both later"])
def test_a_recipient_delivered_twice_keeps_both_attempts_once_each(db, domain, split):
    """The recipient row stands for its final attempt; a later one takes its place and the earlier becomes an
    event, within a batch and across batches, and reading everything again adds nothing."""
    batches = [REDELIVERED] if split is None else [REDELIVERED[:split], REDELIVERED[split:]]
    for batch in batches:
        ingest_lines(batch)
    expected = [("sent", "250 2.0.0 first"), ("sent", "250 2.0.0 second")]
    assert timeline_of("6D8D41C0AAA") == expected
    assert RelayRecipient.objects.get().recorded_attempt().response == "250 2.0.0 second"
    assert counts() == (1, 1, 2, 0)
    for batch in batches:
        ingest_lines(batch)
    ingest_lines(REDELIVERED + REDELIVERED[2:])  # the same lines again, one of them twice
    assert timeline_of("6D8D41C0AAA") == expected
    assert counts() == (1, 1, 2, 0)


def test_an_earlier_final_attempt_read_after_a_later_one_is_kept_as_an_event(db, domain):
    ingest_lines(REDELIVERED[:2] + REDELIVERED[3:])
    ingest_lines(REDELIVERED[:3])
    assert timeline_of("6D8D41C0AAA") == [("sent", "250 2.0.0 first"), ("sent", "250 2.0.0 second")]
    assert counts() == (1, 1, 2, 0)


def test_final_attempts_stored_as_events_before_recipients_recorded_them_are_not_doubled(db, credential):
    """Relay logs stored before recipients stood for their final attempts have those as event rows."""
    from relay.ingest.merge import _store_events

    ingest_lines(MIXED.splitlines())
    for recipient in RelayRecipient.objects.filter(line_key__isnull=False):  # as the earlier ingest stored it
        _store_events([], [(recipient.message, recipient.recorded_attempt())])
    RelayRecipient.objects.update(line_key=None)
    assert counts() == (3, 5, 7, 2)
    ingest_lines(MIXED.splitlines())
    assert counts() == (3, 5, 7, 2)


class NewYearsEveClock(SyslogClock):
    """A syslog clock read one second before New Year 2027 in Amsterdam, with the mail host's log a few
    seconds ahead (at module level: batches carry their clock to the writer)."""

    def __init__(self, **kwargs):
        super().__init__(
            now=datetime(2026, 12, 31, 23, 59, 59, tzinfo=ZoneInfo("Europe/Amsterdam")), **kwargs
        )


REFUSED = (
    "Dec  1 10:00:0{s} mx1 postfix/submission/smtpd[77]: NOQUEUE: reject: RCPT from web[203.0.113.5]: 450 4.7.1 "
    "<klant@elders.example>: Recipient address rejected: Sending limit reached; from=<shop@bakkerij.example> "
    "to=<klant@elders.example> proto=ESMTP helo=<web>"
)


def test_identical_lines_in_one_second_are_separate_events_and_reading_again_adds_nothing(db, domain):
    lines = [REFUSED.format(s=1)] * 5 + [REFUSED.format(s=2)] * 2
    ingest_lines(lines)
    assert RejectedAttempt.objects.count() == 7
    ingest_lines(lines)
    assert RejectedAttempt.objects.count() == 7


@pytest.mark.parametrize("batch_lines", [2, 3, 100])
def test_identical_lines_across_batches_and_runs_keep_their_count(db, domain, tmp_path, batch_lines):
    """Repeats count on across batch boundaries and across ingest runs that stop inside the second."""
    path = tmp_path / "maillog"
    write(path, "\n".join([REFUSED.format(s=1)] * 3) + "\n")
    ingest_file(str(path), batch_lines=batch_lines)
    with open(path, "a") as log:
        log.write("\n".join([REFUSED.format(s=1)] * 2 + [REFUSED.format(s=2)]) + "\n")
    ingest_file(str(path), batch_lines=batch_lines)
    assert RejectedAttempt.objects.count() == 6
    IngestState.objects.update(offset=0)
    ingest_file(str(path), batch_lines=batch_lines)
    assert RejectedAttempt.objects.count() == 6
