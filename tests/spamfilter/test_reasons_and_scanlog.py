from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import translation

from spamfilter.reasons import main_reasons
from spamfilter.scanlog import parse_line

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
LINE = (
    "2026-12-06 05:52:27 #7365(rspamd_proxy) <012d93>; proxy; rspamd_task_write_log: postbode-scan "
    "qid=<B61CE532967> user=<undef> action=<reject> score=<16.40/15.00> "
    "symbols=<R_SPF_FAIL(1.00),BAYES_SPAM(5.10),RBL_SPAMHAUS_XBL(4.00),MIME_GOOD(-0.10),GTUBE(0.00)> "
    "from=<a@spam.example> rcpts=<Jan@Bakkerij.example,piet@bakkerij.example>"
)


def test_a_scan_line_is_read_into_its_parts():
    scan = parse_line(LINE, tz=AMSTERDAM)
    assert scan.queue_id == "B61CE532967"
    assert scan.user == ""
    assert scan.refused
    assert scan.score == Decimal("16.40")
    assert scan.symbols["BAYES_SPAM"] == 5.1
    assert scan.recipients == ["jan@bakkerij.example", "piet@bakkerij.example"]
    assert scan.at.isoformat() == "2026-12-06T05:52:27+01:00"


def test_a_scan_line_with_the_scan_time_in_front_reads_the_same():
    timed = LINE.replace("postbode-scan", "scan-time=<12.31ms> postbode-scan")
    assert parse_line(timed, tz=AMSTERDAM) == parse_line(LINE, tz=AMSTERDAM)


def test_other_lines_and_garbage_are_skipped():
    assert (
        parse_line(
            "2026-12-06 05:52:27 #1(main) <x>; main; rspamd 3.4 is loading configuration", tz=AMSTERDAM
        )
        is None
    )
    assert parse_line("\x00\xff garbage", tz=AMSTERDAM) is None
    assert parse_line(LINE.replace("qid=<B61CE532967>", "qid=<undef>"), tz=AMSTERDAM) is None


def test_the_main_reasons_are_plain_words_strongest_first_known_spam_text_before_all():
    symbols = parse_line(LINE, tz=AMSTERDAM).symbols
    assert main_reasons(symbols) == [
        "known spam test text",
        "resembles mail reported as spam",
        "sender is on a block list of the internet",
    ]
    with translation.override("nl"):
        assert main_reasons({"R_SPF_FAIL": 3.0, "MIME_GOOD": -0.1}) == ["afzender faalt SPF"]
    assert main_reasons({"SOME_UNKNOWN_RULE": 3.0}) == []
