"""Reading a log's batches (`relay.ingest.lines`): the shortcuts the readers take give what the plain way gives."""

import copy
import random
from datetime import UTC, datetime

import pytest

import relay.ingest.lines
from relay.ingest.lines import decode_lines, read_block, skip_lines
from relay.parser import SyslogClock
from tests.relay.logs import EXPIRED, GARBAGE, MIXED, RFC3339_LONG_IDS, YEAR_END

NOW = datetime(2026, 12, 6, tzinfo=UTC)
# Byte-identical refusals within a second are distinct lines (`LineParser.key` counts them).
REFUSED = (
    "Nov 30 20:20:59 mx1 postfix/smtpd[2001]: NOQUEUE: reject: RCPT from unknown[203.0.113.9]: 554 5.7.1"
    " <x@y.example>: Relay access denied; from=<a@b.example> to=<x@y.example> proto=ESMTP helo=<h>\n"
)
LOGS = [MIXED, EXPIRED, GARBAGE, RFC3339_LONG_IDS, YEAR_END]


def _text(log) -> str:
    return log if isinstance(log, str) else "\n".join(log)


def _plain_read_block(log, batch_lines: int, limit: int) -> tuple[bytes, int]:
    """What `read_block` reads, a line at a time."""
    lines: list[bytes] = []
    consumed = 0
    while len(lines) < batch_lines:
        start = log.tell()
        line = log.readline(max(0, limit - consumed))
        if not line.endswith(b"\n"):
            log.seek(start)
            break
        lines.append(line)
        consumed += len(line)
    return b"".join(lines), consumed


def _log_bytes(repeat: int) -> bytes:
    rng = random.Random(22)
    lines = [line for log in LOGS for line in _text(log).splitlines()]
    return b"".join((rng.choice(lines) + "\n").encode() for _ in range(repeat)) + b"Nov 30 20:21:00 mx1 post"


@pytest.mark.parametrize("chunk", [64, 1000, 1 << 16, 16 << 20])
def test_read_block_ends_batches_where_reading_a_line_at_a_time_does(tmp_path, monkeypatch, chunk):
    """Batches end after their n-th line whether the block read holds many more lines (looked for from its
    end) or few (from its start), or within a byte limit."""
    monkeypatch.setattr(relay.ingest.lines, "READ_CHUNK", chunk)
    path = tmp_path / "maillog"
    path.write_bytes(_log_bytes(3_000))
    rng = random.Random(chunk)
    for batch_lines, limit in [(1, 10**9), (2_999, 10**9), (3_000, 10**9), (10**6, 10**9), (700, 5_000)] + [
        (rng.randint(1, 1_500), rng.randint(1, 200_000)) for _ in range(20)
    ]:
        with open(path, "rb") as log, open(path, "rb") as plain:
            while True:
                got, consumed = read_block(log, batch_lines, limit)
                expected, expected_consumed = _plain_read_block(plain, batch_lines, limit)
                assert (bytes(got), consumed, log.tell()) == (expected, expected_consumed, plain.tell())
                assert decode_lines(got) == decode_lines(expected)
                if not expected:
                    break


def _clock_state(clock: SyslogClock) -> tuple:
    return clock.year, clock.last_month, clock.run_stamp, clock.run_counts


@pytest.mark.parametrize("ends", [64, 200, 1 << 16])
def test_skipping_a_block_by_its_ends_moves_the_clock_as_skipping_every_line(monkeypatch, ends):
    """A reader moves its clock over the other reader's batches reading only their first and last lines:
    the same year and the same repeats of the last second as `SyslogClock.skip` over all of them, also where
    the ends do not suffice (no dated line among the first ones, one second throughout, a year's end)."""
    monkeypatch.setattr(relay.ingest.lines, "SKIP_ENDS", ends)
    same_second = REFUSED * 400
    undated = "not a syslog line at all\n" * 300
    blocks = [
        _log_bytes(500),
        same_second.encode(),
        (undated + _text(MIXED) + "\n" + same_second).encode(),
        (_text(YEAR_END) + "\n" + undated).encode(),
        (_text(MIXED) + "\n").encode(),
    ]
    for block in blocks:
        for start in (SyslogClock(now=NOW), _moved(SyslogClock(now=NOW))):
            plain, shortcut = copy.copy(start), copy.copy(start)
            plain.skip(block.split(b"\n"))
            skip_lines(shortcut, memoryview(block))
            assert _clock_state(shortcut) == _clock_state(plain)


def _moved(clock: SyslogClock) -> SyslogClock:
    """A clock that has read a second already, which the next block may go on with."""
    clock.skip([REFUSED.encode()])
    return clock
