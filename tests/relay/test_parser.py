from datetime import UTC, datetime, timedelta, timezone

import pytest

from relay.parser import KEYED_KINDS, Kind, SyslogClock, parse_lines
from tests.relay.logs import GARBAGE, GARBAGE_BYTES, MIXED, RFC3339_LONG_IDS, YEAR_END

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def parse(text, **kwargs):
    return list(parse_lines(text.splitlines(), clock=SyslogClock(now=kwargs.pop("now", NOW)), **kwargs))


def test_syslog_lines_become_events_with_queue_ids_and_kinds():
    events = parse(MIXED)
    kinds = [(e.queue_id, e.kind) for e in events[:4]]
    assert kinds == [
        ("4F3A21C0ABC", Kind.CLIENT),
        ("4F3A21C0ABC", Kind.MESSAGE_ID),
        ("6C8D41C0AAA", Kind.CLIENT),
        ("4F3A21C0ABC", Kind.QUEUED),
    ]
    assert events[0].at == datetime(2026, 11, 30, 20, 15, 12, tzinfo=UTC)
    assert events[0].host == "mx1"
    assert events[0].data["sasl_username"] == "relay-7k2m9q"
    assert events[0].data["client_ip"] == "203.0.113.5"


def test_connect_lines_are_ignored():
    events = parse(MIXED)
    assert all(e.kind != "connect" for e in events)
    assert len(events) == len(MIXED.splitlines()) - 1


def test_delivery_attempt_carries_recipient_alias_dsn_and_remote_answer():
    attempt = next(e for e in parse(MIXED) if e.kind == Kind.ATTEMPT and e.queue_id == "6C8D41C0AAA")
    assert attempt.data["to"] == "jan@bakkerij.example"
    assert attempt.data["orig_to"] == "info@bakkerij.example"
    assert attempt.data["status"] == "sent"
    assert attempt.data["dsn"] == "2.0.0"
    assert attempt.data["delay"] == 0.1
    assert attempt.data["response"].startswith("250 2.0.0")


def test_bounced_attempt_keeps_the_full_remote_answer():
    bounced = next(e for e in parse(MIXED) if e.kind == Kind.ATTEMPT and e.data["status"] == "bounced")
    assert bounced.data["dsn"] == "5.1.1"
    assert "User unknown (in reply to RCPT TO command)" in bounced.data["response"]


def test_bounce_notification_names_the_new_queue_id():
    notice = next(e for e in parse(MIXED) if e.kind == Kind.BOUNCE_NOTICE)
    assert notice.queue_id == "4F3A21C0ABC"
    assert notice.data["bounce_queue_id"] == "5B7C31C0DEF"


def test_noqueue_rejects_are_parsed_with_sender_recipient_and_codes():
    relay_denied, not_owned = [e for e in parse(MIXED) if e.kind == Kind.REJECT]
    assert relay_denied.queue_id is None
    assert relay_denied.data["client_ip"] == "203.0.113.66"
    assert relay_denied.data["sender"] == "spam@spam.example"
    assert relay_denied.data["to"] == "victim@elders.example"
    assert relay_denied.data["dsn"] == "5.7.1"
    assert relay_denied.data["response"] == "554 5.7.1 <victim@elders.example>: Relay access denied"
    assert not_owned.data["sasl_username"] == "relay-7k2m9q"


def test_milter_reject_without_reply_code_still_gets_its_dsn():
    line = (
        "Nov 30 20:15:12 mx1 postfix/cleanup[2105]: 4F3A21C0ABC: milter-reject: END-OF-MESSAGE from "
        "app.example[203.0.113.5]: 5.7.1 Rejected by policy; from=<a@b.example> to=<c@d.example> proto=ESMTP helo=<app>"
    )
    (event,) = parse(line)
    assert event.kind == Kind.REJECT
    assert event.queue_id == "4F3A21C0ABC"
    assert event.data["stage"] == "END-OF-MESSAGE"
    assert event.data["dsn"] == "5.7.1"


def test_rfc3339_timestamps_and_long_queue_ids():
    events = parse(RFC3339_LONG_IDS)
    assert {e.queue_id for e in events} == {"4dLh3V2XkLz1bQr"}
    assert events[0].at == datetime(2026, 11, 30, 21, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert events[0].host == "mx2"
    assert events[-1].kind == Kind.REMOVED


def test_fractional_seconds_of_postfix_maillog_file_are_kept():
    (event,) = parse("Nov 30 20:15:12.250000 mx1 postfix/qmgr[2000]: 4F3A21C0ABC: removed")
    assert event.at.microsecond == 250000


def test_syslog_year_rolls_over_at_new_year():
    events = parse(YEAR_END, now=datetime(2027, 1, 1, 0, 5, tzinfo=UTC))
    assert [e.at.year for e in events] == [2026, 2026, 2027, 2027]


def test_a_december_log_read_in_january_belongs_to_last_year():
    (event,) = parse(
        "Dec 30 10:00:00 mx1 postfix/qmgr[2000]: 4F3A21C0ABC: removed", now=datetime(2027, 1, 2, tzinfo=UTC)
    )
    assert event.at.year == 2026


def test_host_can_be_overridden():
    events = parse(MIXED, host="mx9")
    assert {e.host for e in events} == {"mx9"}


def test_truncated_binary_and_unknown_lines_are_skipped_without_stopping():
    lines = GARBAGE + GARBAGE_BYTES + MIXED.splitlines()
    events = list(parse_lines(lines, clock=SyslogClock(now=NOW)))
    assert len(events) == len(MIXED.splitlines()) - 1


def test_line_keys_are_stable_and_distinct_for_the_lines_stored_as_rows():
    first, second = parse(MIXED), parse(MIXED)
    assert [e.line_key for e in first] == [e.line_key for e in second]
    keyed = [e.line_key for e in first if e.kind in KEYED_KINDS]
    assert len(set(keyed)) == len(keyed) == 9  # six attempts, one bounce notice, two rejects
    assert 0 not in keyed


def test_instance_names_and_lines_without_a_pid_still_parse():
    events = parse(
        "Nov 30 20:15:12 mx1 postfix-out/smtp[77]: 4F3A21C0ABC: to=<a@b.example>, relay=none, delay=1, "
        "dsn=4.4.1, status=deferred (connect: Connection refused)\n"
        "Nov 30 20:15:13 mx1 postfix/qmgr: 4F3A21C0ABC: removed\n"
        "Nov 30 20:15:14 mx1 postfix/smtpd[5]: warning: hostname x: does not resolve: retry later\n"
    )
    assert [(e.kind, e.data["service"]) for e in events] == [
        (Kind.ATTEMPT, "postfix-out/smtp"),
        (Kind.REMOVED, "postfix/qmgr"),
    ]


@pytest.mark.parametrize(
    "rest",
    [
        "client=app.example[203.0.113.5], sasl_method=PLAIN, sasl_username=relay-7k2m9q",
        "client=mail.sender.example[198.51.100.20]",
        "client=unknown[2001:db8::7], sasl_method=LOGIN, sasl_username=jan@bakkerij.example",
        "client=x[192.0.2.1], orig_queue_id=ABC123, orig_client=y[192.0.2.2]",
        "client=[192.0.2.1], sasl_method=PLAIN, sasl_username=",
        "from=<shop@bakkerij.example>, size=2048, nrcpt=3 (queue active)",
        "from=<>, size=4096, nrcpt=1 (queue active)",
        "from=<<odd@example>, size=10, nrcpt=1 (queue active)",
        "from=<a@b.example>, size=10, nrcpt=1",
        "from=<a@b.example>, status=expired, returned to sender",
    ],
)
def test_the_usual_line_shapes_read_as_the_general_attribute_reader_does(rest):
    """Client and queued lines take a faster expression in their usual shape: same result either way."""
    from relay.parser import _ATTR, _CLIENT_IP, _classify, _ip

    kind, data = _classify("smtpd", rest)
    attrs = dict(_ATTR.findall(rest))
    if rest.startswith("client="):
        ip = _CLIENT_IP.search(attrs["client"])
        assert (kind, data) == (
            "client",
            {
                "client": attrs["client"],
                "client_ip": _ip(ip.group(1)) if ip else None,
                "sasl_username": attrs.get("sasl_username", ""),
            },
        )
    elif attrs.get("status") == "expired":
        assert (kind, data) == ("expired", {"sender": attrs["from"].strip("<>")})
    else:
        nrcpt = int(attrs["nrcpt"]) if attrs.get("nrcpt", "").isdigit() else None
        assert (kind, data) == (
            "queued",
            {"sender": attrs["from"].strip("<>"), "size": int(attrs["size"]), "nrcpt": nrcpt},
        )


EDGE_LINES = [
    "Nov 30 20:15:12 mx1 postfix/smtpd//x[12]: 4F3A21C0ABC: client=a[1.2.3.4]",
    "Nov 30 20:15:12 mx1 postfix/smtpd[abc]: 4F3A21C0ABC: client=a[1.2.3.4]",
    "Nov 30 20:15:12 mx1 postfix/smtpd[12]]: 4F3A21C0ABC: removed",
    "Nov 30 20:15:12 mx 1 postfix/qmgr[12]: 4F3A21C0ABC: removed",
    "Nov 30 20:15:12 mx1  postfix/qmgr[12]: 4F3A21C0ABC: removed",
    "Nov 30 20:15:12 mx1 postfix-2/submission.x/smtpd+1[7]: 4F3A21C0ABC: removed",
    "Nov 30 20:15:12 mx1 postfix/: 4F3A21C0ABC: removed",
    "Nov 30 20:15:12 mx1 postfix/qmgr[12]:4F3A21C0ABC: removed",
    "Nov 30 20:15:12 mx1 postfix/qmgr[]: 4F3A21C0ABC: removed",
    "2026-11-30T20:15:12.5+01:00 mx1 postfix/qmgr: 4dLTvs3Xz0zXbcD: removed",
    "Nov 30 20:15:12 mx1 postfix/smtp[9]: 4F3A21C0ABC: to=<a@b>, orig_to=<c@d>, relay=x[1.2.3.4]:25, "
    "conn_use=2, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 ok (queued))",
    "Nov 30 20:15:12 mx1 postfix/smtp[9]: 4F3A21C0ABC: to=<a@b>, relay=none, delay=1, dsn=4.4.1, status=deferred",
    "Nov 30 20:15:12 mx1 postfix/smtp[9]: 4F3A21C0ABC: to=<a@b>, orig_to=<c@d, relay=x, delay=1, dsn=2.0.0, status=x",
    "Nov 30 20:15:12 mx1 postfix/smtp[9]: 4F3A21C0ABC: to=<a@b>, relay=x, delay=1.2.., dsn=2.0.0.0, status=sent (",
]


def test_possessive_expressions_match_as_their_backtracking_forms_do():
    """The line and attempt expressions take possessive quantifiers for speed: on every test line and on
    shapes built to make a backtracking engine try shorter hosts and program names, the matches are the same
    as without them."""
    import re

    from relay.parser import _RFC3339_LINE, _SYSLOG_LINE, _TO_ATTRS

    def backtracking(expression):
        return re.compile(expression.pattern.replace("*+", "*").replace("++", "+").replace("?+", "?"))

    lines = EDGE_LINES + (MIXED + RFC3339_LONG_IDS + YEAR_END).splitlines() + GARBAGE
    lines += [raw.decode("utf-8", "replace") for raw in GARBAGE_BYTES]
    for expression in (_SYSLOG_LINE, _RFC3339_LINE):
        assert "++" in expression.pattern
        plain = backtracking(expression)
        for line in lines:
            fast, slow = expression.match(line), plain.match(line)
            assert (fast and fast.groups()) == (slow and slow.groups()), line
    plain = backtracking(_TO_ATTRS)
    rests = [match["rest"] for line in lines if (match := _SYSLOG_LINE.match(line))]
    rests += [line.partition(": 4F3A21C0ABC: ")[2] for line in EDGE_LINES]
    for rest in rests:
        fast, slow = _TO_ATTRS.match(rest), plain.match(rest)
        assert (fast and fast.groups()) == (slow and slow.groups()), rest
    assert sum(1 for rest in rests if _TO_ATTRS.match(rest)) >= 5


@pytest.mark.parametrize(
    "expression, text",
    [
        ("syslog", "Nov 26 20:08:29 mx1 postfix/smtp/[95028]: 790FF3B783: to=<a@b.example>, status=sent"),
        ("syslog", "Nov 26 20:08:29 mx1 postfix/smtp[]: 790FF3B783: to=<a@b.example>, status=sent"),
        (
            "attempt",
            "to=<a@b.example>, relay=x.example[192.0.2.4]:25, conn_use=, delay=0.5, dsn=2.0.0, status=sent (250 ok)",
        ),
        (
            "attempt",
            "to=<a@b.example>, orig_to=<c@d.example>, relay=x.example[192.0.2.4]:25, conn_use=, delay=0.5, "
            "delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 ok)",
        ),
    ],
)
def test_malformed_optional_parts_are_never_read_as_well_formed(expression, text):
    """An empty program part after a slash, empty brackets or an empty `conn_use=` do not match. Python 3.11
    before 3.11.5 (CPython gh-106052; Debian 12's python3 is 3.11.2) matched all four through the possessive
    groups the expressions used to have."""
    from relay.parser import _SYSLOG_LINE, _TO_ATTRS

    assert {"syslog": _SYSLOG_LINE, "attempt": _TO_ATTRS}[expression].match(text) is None
