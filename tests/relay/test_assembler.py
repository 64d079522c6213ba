from datetime import UTC, datetime

from relay.assembler import assemble
from relay.ingest.attribution import CustomerDirectory
from relay.parser import SyslogClock, parse_lines
from tests.relay.logs import EXPIRED, MIXED, RFC3339_LONG_IDS

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def assembled(text):
    return assemble(parse_lines(text.splitlines(), clock=SyslogClock(now=NOW)))


def by_queue_id(assembly):
    return {draft.queue_id: draft for draft in assembly.messages}


def test_interleaved_messages_are_kept_apart():
    messages = by_queue_id(assembled(MIXED))
    assert set(messages) == {"4F3A21C0ABC", "6C8D41C0AAA", "5B7C31C0DEF"}
    assert messages["4F3A21C0ABC"].message_id == "order-1001@bakkerij.example"
    assert messages["6C8D41C0AAA"].message_id == "abc@sender.example"
    assert messages["6C8D41C0AAA"].sender == "klant@sender.example"


def test_each_recipient_gets_its_own_final_status():
    message = by_queue_id(assembled(MIXED))["4F3A21C0ABC"]
    statuses = {address: r.status for (address, _orig), r in message.recipients.items()}
    assert statuses == {
        "anna@klant.example": "sent",
        "nobody@klant.example": "bounced",
        "piet@traag.example": "sent",
    }
    assert message.status == "bounced"
    assert message.sasl_username == "relay-7k2m9q"
    assert message.size == 2048 and message.nrcpt == 3


def test_deferred_then_sent_ends_as_sent_and_keeps_both_attempts():
    message = by_queue_id(assembled(MIXED))["4F3A21C0ABC"]
    piet = message.recipients[("piet@traag.example", "")]
    assert piet.status == "sent"
    assert piet.dsn == "2.0.0"
    attempts = [e for e in message.timeline() if e.recipient == "piet@traag.example"]
    assert [(e.status, e.dsn) for e in attempts] == [("deferred", "4.7.1"), ("sent", "2.0.0")]
    # The deferral is an event; the final attempt is recorded by the recipient, not twice.
    assert [e.status for e in message.events if e.recipient == "piet@traag.example"] == ["deferred"]
    assert piet.line_key is not None


def test_alias_recipient_keeps_its_original_address():
    message = by_queue_id(assembled(MIXED))["6C8D41C0AAA"]
    assert list(message.recipients) == [("jan@bakkerij.example", "info@bakkerij.example")]


def test_bounce_notification_is_noted_on_the_message_that_caused_it():
    messages = by_queue_id(assembled(MIXED))
    assert messages["4F3A21C0ABC"].bounce_queue_id == "5B7C31C0DEF"
    assert messages["5B7C31C0DEF"].sender == ""


def test_expired_message_marks_its_deferred_recipients_expired():
    message = by_queue_id(assembled(EXPIRED))["7D9E51C0BBB"]
    kees = message.recipients[("kees@dood.example", "")]
    assert kees.status == "expired"
    assert kees.dsn == "4.4.1"
    assert "Connection refused" in kees.response
    assert message.status == "expired"
    assert message.bounce_queue_id == "8EAF61C0CCC"


def test_rejects_become_reject_drafts():
    rejects = assembled(MIXED).rejects
    assert [(r.sender, r.recipient, r.dsn) for r in rejects] == [
        ("spam@spam.example", "victim@elders.example", "5.7.1"),
        ("ceo@concurrent.example", "x@y.example", "5.7.1"),
    ]


def test_a_queue_id_reused_after_removal_is_a_new_message():
    text = RFC3339_LONG_IDS + RFC3339_LONG_IDS.replace("21:00:0", "22:00:0")
    assembly = assembled(text)
    assert len(assembly.messages) == 2
    assert assembly.messages[1].starts_here


def test_a_message_continued_from_an_earlier_batch_does_not_start_here():
    lines = MIXED.splitlines()
    assembly = assemble(parse_lines(lines[10:], clock=SyslogClock(now=NOW)))
    assert not by_queue_id(assembly)["4F3A21C0ABC"].starts_here


DIRECTORY = CustomerDirectory(
    credentials={"relay-7k2m9q": (7, 1)},
    mailboxes={"jan@bakkerij.example": 1},
    domains={"bakkerij.example": 1, "concurrent.example": 2},
)


def owner(draft):
    return DIRECTORY.owner_of_message(
        sasl_username=draft.sasl_username,
        recipients=list(draft.recipients),
        sender=draft.sender or "",
        client_ip=draft.client_ip,
        client=draft.client,
    )


def test_relay_credential_attributes_the_message_to_its_customer():
    result = owner(by_queue_id(assembled(MIXED))["4F3A21C0ABC"])
    assert (result.customer_id, result.credential_id, result.direction) == (1, 7, "outbound")


def test_mailbox_login_attributes_the_message_to_the_mailbox_owner():
    (draft,) = assembled(RFC3339_LONG_IDS).messages
    result = owner(draft)
    assert (result.customer_id, result.credential_id, result.direction) == (1, None, "outbound")


def test_inbound_mail_belongs_to_the_customer_of_the_recipient_domain():
    result = owner(by_queue_id(assembled(MIXED))["6C8D41C0AAA"])
    assert (result.customer_id, result.direction) == (1, "inbound")


def test_unknown_senders_to_unknown_domains_belong_to_nobody():
    draft = by_queue_id(assembled(MIXED.replace("bakkerij.example", "elsewhere.example")))["6C8D41C0AAA"]
    assert owner(draft).customer_id is None


def test_a_reject_naming_the_credential_belongs_to_its_customer_not_the_forged_domain():
    _relay_denied, not_owned = assembled(MIXED).rejects
    assert DIRECTORY.owner_of_reject(not_owned).customer_id == 1


def _generated_log(lines: int) -> list[str]:
    """Lines from the benchmark's generator: every kind of line a busy host writes, interleaved."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "bench_relaylog.py"
    spec = importlib.util.spec_from_file_location("bench_relaylog", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.LogGenerator(seed=11).lines(lines))


def test_the_one_pass_assembly_ingest_runs_equals_parsing_then_assembling():
    """`assemble_lines` (ingest's one pass) and `assemble(parse_lines(...))` agree on every log we have:
    the test logs, garbage, a year's end, odd shapes of the lines the one pass reads itself, and a long
    generated log; in text and in bytes; with and without a host given."""
    from relay.assembler import assemble_lines
    from tests.relay.logs import GARBAGE, GARBAGE_BYTES, YEAR_END

    odd = [
        "Nov 30 20:15:12 mx1 postfix/qmgr[2000]: 4F3A21C0ABC: removedX",
        "Nov 30 20:15:12 mx1 postfix/qmgr[2000]: 4F3A21C0ABC: from=<a@b>, size=1, nrcpt=1",
        "Nov 30 20:15:12 mx1 postfix/qmgr[2000]: NOQUEUE: removed",
        "Nov 30 20:15:12 mx1 postfix/smtp[2110]: NOQUEUE: to=<a@b.example>, relay=none, delay=1, dsn=4.4.1, status=deferred (x)",
        "Nov 30 20:15:12 mx1 postfix/smtp[2110]: 4F3A21C0ABC: to=<a@b.example>, relay=none, delay=1.2.3, dsn=4.4.1, status=deferred (x)",
        "Nov 30 20:15:12 mx1 postfix/cleanup[2105]: 4F3A21C0ABC: message-id=",
        "Nov 30 20:15:12 mx1 postfix/smtpd[2101]: 7A3A21C0ABC: client=x[192.0.2.1], orig_queue_id=ABC, orig_client=y",
        "Nov 30 20:15:12 mx1 postfix/smtpd[2101]: 7B3A21C0ABC: client=unknown[1.2.3], sasl_method=PLAIN, sasl_username=u",
        "Nov 30 20:15:12 mx1 postfix/smtpd[2101]: 7C3A21C0ABC: client=[192.0.2.1]",
        "Nov 30 20:15:13 mx1 postfix/cleanup[2105]: 6C8D41C0AAA: message-id= <spaced@example> ",
        "Nov 30 20:15:12 mx1 postfix/qmgr[2000]: 4F3A21C0ABC: from=<a@b.example>, size=99999999999999999999, nrcpt=2 (queue active)",
    ]
    logs = [
        MIXED.splitlines(),
        (EXPIRED + MIXED + MIXED).splitlines(),
        RFC3339_LONG_IDS.splitlines(),
        YEAR_END.splitlines(),
        GARBAGE + MIXED.splitlines() + odd,
        GARBAGE_BYTES + [line.encode() for line in MIXED.splitlines()],
        _generated_log(30_000),
    ]
    for lines in logs:
        for host in (None, "mx9"):
            expected = assemble(parse_lines(lines, host=host, clock=SyslogClock(now=NOW)))
            assert expected.messages
            assert assemble_lines(lines, host=host, clock=SyslogClock(now=NOW)) == expected
