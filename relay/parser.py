"""A pure, streaming parser from Postfix log lines to events.

`parse_lines(lines)` is a generator: one `Event` for each line that matters to the relay log, nothing for
anything else. Unknown lines are skipped; truncated, binary or otherwise broken lines are never fatal.

Both timestamp shapes are understood:
- syslog / Postfix `maillog_file`: `Nov 30 20:15:12[.123456] host postfix/smtpd[123]: ...` (no year: the
  `SyslogClock` supplies it and rolls over to the next year when December turns into January);
- RFC 3339 (rsyslog's file format): `2026-11-30T20:15:12.123456+01:00 host postfix/smtpd[123]: ...`.
Queue ids are short (hexadecimal) or long (`enable_long_queue_ids = yes`).
"""

import hashlib
import importlib
import ipaddress
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final
from zoneinfo import ZoneInfo

from mypy_extensions import mypyc_attr

MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}

_SHORT_QID = r"[0-9A-F]{6,20}"
_LONG_QID = r"[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,}z[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]+"
# One expression per timestamp shape, matching through the queue id, so the many lines without one
# (connect, TLS, warnings, other programs) are dropped by a single failed match. Possessive quantifiers
# (`*+`, `++`, `?+`) where what follows can never be part of what they take: the same matches, without the
# engine trying every shorter host and program name before giving a line up (a third less time in all).
# A group is made possessive as an atomic group, `(?>(?:…)*)`, never as `(?:…)*+` or `(?:…)?+`: Python 3.11
# before 3.11.5 (CPython gh-106052; Debian 12's python3 is 3.11.2) repeats such a group wrongly, and matched
# `postfix/smtp/[1]: ` or `conn_use=, ` (an empty number) as if they were well formed.
_TAIL = (
    r" (?P<host>\S++) (?P<prog>postfix[\w.+-]*+(?>(?:/[\w.+-]++)*))(?>(?:\[\d++\])?): "
    rf"(?P<qid>{_SHORT_QID}|{_LONG_QID}|NOQUEUE): (?P<rest>.*)"
)
_SYSLOG_LINE = re.compile(r"(?P<ts>[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d(?:\.\d{1,6})?)" + _TAIL)
_SYSLOG_TS = re.compile(
    r"(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?:\.(?P<frac>\d{1,6}))?"
)
_RFC3339_LINE = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?)" + _TAIL
)


def _line_scanner():
    """`_SYSLOG_LINE.match(line)`'s groups read in C (`relay/linescan.c`), where it is built beside the
    compiled modules (`relay.compiled`); else None, and the expression itself runs."""
    try:
        scanner = importlib.import_module("relay._linescan")
    except ImportError:
        return None
    scanner.configure(_SYSLOG_LINE.match)  # for lines not ASCII
    return scanner.syslog_groups


SYSLOG_GROUPS = _line_scanner()
_ATTR = re.compile(r"(\w+)=(<[^>]*>|\[[^\]]*\]|[^,\s]*)")
_TO_ATTRS = re.compile(
    r"to=<(?P<to>[^>]*+)>(?>(?:, orig_to=<(?P<orig_to>[^>]*+)>)?), relay=(?P<relay>[^,]*+)(?>(?:, conn_use=\d++)?)"
    r", delay=(?P<delay>[\d.]++)(?>(?:, delays=(?P<delays>[\d./]++))?), dsn=(?P<dsn>[\d.]++)"
    r", status=(?P<status>\w++)(?: \((?P<response>.*)\))?"
)
_REJECT = re.compile(
    r"(?:milter-)?reject: (?P<stage>[A-Z-]+)(?: from (?P<client>\S+?))?: (?P<response>.*?)"
    r"(?:; from=<(?P<from>[^>]*)>)?(?: to=<(?P<to>[^>]*)>)?(?: proto=\S+)?(?: helo=<[^>]*>)?\s*$"
)
# The same split as `_REJECT`, without its cost: the response is everything up to the leftmost place where
# the attribute tail matches to the end of the line, and such a place can only be one of a few substrings (or
# the trailing blanks), so only those are tried, instead of the lazy `.*?` trying every character.
_REJECT_HEAD = re.compile(r"(?:milter-)?reject: (?P<stage>[A-Z-]+)(?: from (?P<client>\S+?))?: ")
_REJECT_TAIL = re.compile(
    r"(?:; from=<(?P<from>[^>]*)>)?(?: to=<(?P<to>[^>]*)>)?(?: proto=\S+)?(?: helo=<[^>]*>)?\s*$"
)
_REJECT_TAIL_STARTS = ("; from=<", " to=<", " proto=", " helo=<")
_REPLY_CODES = re.compile(r"^(?:(?P<code>[245]\d\d) ?)?(?P<dsn>[245]\.\d{1,3}\.\d{1,3})?")
# The usual shapes of the two most frequent attribute lines, read by one expression; anything else (other
# attributes, values in brackets) goes through `_ATTR`, with the same result for these shapes.
_PLAIN_VALUE = r"[^,\s<\[][^,\s]*"
_USUAL_CLIENT = re.compile(
    rf"client=({_PLAIN_VALUE})(?:, sasl_method={_PLAIN_VALUE}, sasl_username=({_PLAIN_VALUE}))?$"
)
_USUAL_QUEUED = re.compile(r"from=<([^<>]*)>, size=(\d+), nrcpt=(\d+) \(queue active\)$")
_CLIENT_IP = re.compile(r"\[([0-9A-Fa-f:.]+)\]")
_OWNED_BY = re.compile(r"not owned by user (\S+?)[;.]?$|\bfor (?:SMTP user|user) (\S+?)[;.]?(?: |$)")


class Kind:
    CLIENT: Final = "client"  # smtpd accepted a connection's transaction: client=, sasl_username=
    PICKUP: Final = "pickup"  # locally submitted (sendmail): uid=, from=
    MESSAGE_ID: Final = "message_id"  # cleanup: message-id=<...>
    QUEUED: Final = "queued"  # qmgr: from=, size=, nrcpt= (queue active)
    ATTEMPT: Final = "attempt"  # smtp/lmtp/local/virtual/error: to=, status=
    EXPIRED: Final = "expired"  # qmgr: from=, status=expired, returned to sender
    BOUNCE_NOTICE: Final = "bounce_notice"  # bounce: sender non-delivery notification: NEWID
    REMOVED: Final = "removed"  # qmgr: removed
    REJECT: Final = "reject"  # NOQUEUE: reject / QUEUEID: milter-reject


# Kinds stored as rows of their own (timeline events, rejects) and so deduplicated by their line's hash.
KEYED_KINDS = frozenset({Kind.ATTEMPT, Kind.EXPIRED, Kind.BOUNCE_NOTICE, Kind.REJECT})


@dataclass(slots=True, init=False)
class Event:
    at: datetime
    host: str
    kind: str
    queue_id: str | None
    line_key: int
    data: dict = field(default_factory=dict)

    def __init__(
        self,
        at: datetime,
        host: str,
        kind: str,
        queue_id: str | None,
        line_key: int,
        data: dict | None = None,
    ) -> None:  # written out: compiled, the dataclass's own stays interpreted (see `relay.assembler`)
        self.at, self.host, self.kind, self.queue_id, self.line_key = at, host, kind, queue_id, line_key
        self.data = {} if data is None else data

    def __reduce__(self) -> tuple:  # see `relay.assembler.RecipientDraft.__reduce__`
        return Event, (self.at, self.host, self.kind, self.queue_id, self.line_key, self.data)


_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@mypyc_attr(allow_interpreted_subclasses=True)  # compiled (`relay.compiled`), and still open to subclasses
class SyslogClock:
    """Gives syslog timestamps (no year) a year: start from a reference time, roll over at New Year.

    The first timestamp gets the reference's year unless that would put it more than a day in the future
    (a December log read in January); each later one moves to the next year when the month jumps back.
    """

    def __init__(self, *, now: datetime | None = None, tz: tzinfo = UTC):
        self.now = now or datetime.now(tz)
        self.tz = tz
        self.year: int | None = None
        self.last_month = 0
        # The run of lines with the latest timestamp text, and how often each line occurred in it: Postfix
        # logs whole seconds and reuses processes, so byte-identical lines within a second are distinct
        # events (five identical refusals are five); see `LineParser.key`.
        self.run_stamp = ""
        self.run_counts: dict[str, int] = {}

    def __copy__(self) -> "SyslogClock":
        copied = SyslogClock(now=self.now, tz=self.tz)
        copied.year, copied.last_month = self.year, self.last_month
        copied.run_stamp, copied.run_counts = self.run_stamp, dict(self.run_counts)
        return copied

    def stamp(self, month: int, day: int, h: int, m: int, s: int, micro: int) -> datetime:
        return datetime(self.observe(month, day), month, day, h, m, s, micro, tzinfo=self.tz)

    def observe(self, month: int, day: int) -> int:
        """Move the year on as a line of that date would, without making a timestamp; the line's year."""
        year = self.year
        if year is None:
            year = self.now.year
            if _safe_datetime(year, month, day, self.tz) > self.now + timedelta(days=1):
                year -= 1
        elif month < self.last_month - 6:
            year += 1
        self.year, self.last_month = year, month
        return year

    def skip(self, lines: Sequence[str | bytes]) -> None:
        """Move the year on over lines another reader parses, as parsing them would have. Within a run of
        lines the month only ever goes back once (at New Year), so the first and the last line that the
        parser would read a syslog timestamp from say all there is."""
        first = next(filter(None, map(_syslog_date, lines)), None)
        last = next(filter(None, map(_syslog_date, reversed(lines))), None)
        for date in (first, last):
            if date is not None:
                self.observe(*date)
        self.count_repeats(lines)

    def skip_ends(self, head: Sequence[str | bytes], tail: Sequence[str | bytes]) -> bool:
        """`skip` over lines of which only the first few (`head`) and the last few (`tail`) are given, if they
        suffice: a line with a date in each, and an earlier second than the last one's in `tail`. False, with
        nothing moved, if not (the caller then gives more). Splitting a reader's 100,000-line batch into lines
        to read a few of them cost the other reader 0.5 s of CPU per run of the varied benchmark log."""
        first = next(filter(None, map(_syslog_date, head)), None)
        last = next(filter(None, map(_syslog_date, reversed(tail))), None)
        stamp, trailing, whole = _last_second(tail)
        if first is None or last is None or whole:
            return False
        for date in (first, last):
            self.observe(*date)
        self._count(stamp, trailing, whole)
        return True

    def count_repeats(self, lines: Sequence[str | bytes]) -> None:
        """Count the lines of the last second of `lines` (read by someone else, or before the offset a run
        starts at) as `LineParser.key` would have, so a repeat just after them keeps its own key."""
        self._count(*_last_second(lines))

    def _count(self, stamp: str, trailing: list[str], whole: bool) -> None:
        if not stamp:
            return
        if not (whole and stamp == self.run_stamp):  # else a second that began earlier goes on
            self.run_stamp, self.run_counts = stamp, {}
        for line in trailing:
            self.run_counts[line] = self.run_counts.get(line, 0) + 1


def _last_second(lines: Sequence[str | bytes]) -> tuple[str, list[str], bool]:
    """The timestamp text of the last line of `lines` the parser reads, the lines of that second (last
    first), and whether they may go on before `lines` (no earlier second among them)."""
    trailing: list[str] = []
    stamp, whole = "", True
    for raw in reversed(lines):
        line = _clean(raw)
        match = LineParser.match(line)
        if match is None:
            continue
        if stamp and match["ts"] != stamp:
            whole = False
            break
        stamp = match["ts"]
        trailing.append(line)
    return stamp, trailing, whole


def _clean(raw: str | bytes) -> str:
    """A line as the parser reads it."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    return raw.replace("\x00", "").rstrip("\r\n")


def _syslog_date(raw: str | bytes) -> tuple[int, int] | None:
    """(month, day) of a line whose syslog timestamp the parser would read, else None."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    match = _SYSLOG_LINE.match(raw.replace("\x00", "").rstrip("\r\n"))
    if match is None:
        return None
    stamp = _SYSLOG_TS.match(match["ts"])
    assert stamp is not None  # the line expression's timestamp has this shape
    return MONTHS[stamp["mon"]], int(stamp["day"])


def _safe_datetime(year: int, month: int, day: int, tz: tzinfo) -> datetime:
    if month == 2 and day == 29:
        day = 28  # 29 February in a year without it: compare with the 28th
    return datetime(year, month, day, tzinfo=tz)


def line_key(host: str, line: str, repeat: int = 0) -> int:
    """A signed 64-bit hash of host and line (and, for the n-th repeat of a line within its second, n): the
    dedupe key that makes re-ingesting a line a no-op while identical lines stay separate events.

    64 bits keep the unique index small; a collision is about one in 10^12 even among 10^7 lines a month.
    """
    text = f"{host}\0{line}" if not repeat else f"{host}\0{line}\0{repeat}"
    digest = hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def parse_lines(
    lines: Iterable[str | bytes],
    *,
    host: str | None = None,
    clock: SyslogClock | None = None,
    tz: tzinfo | str = UTC,
) -> Iterator[Event]:
    """Yield the relay log's events from Postfix log lines (bytes are decoded leniently).

    `host` overrides the host name found in the lines (as `relaylog ingest --host` does).
    """
    tz = ZoneInfo(tz) if isinstance(tz, str) else tz
    parser = LineParser(host=host, clock=clock or SyslogClock(tz=tz))
    for raw in lines:
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        if "\x00" in raw:
            raw = raw.replace("\x00", "")
        try:
            event = parser.parse(raw.rstrip("\r\n"))
        except (ValueError, OverflowError, IndexError, KeyError):
            continue  # a broken line (truncated, impossible date, garbage): skip it, never stop
        if event is not None:
            yield event


class LineParser:
    """Parses one line at a time; remembers the last timestamp text, since many lines share a second."""

    def __init__(self, *, host: str | None, clock: SyslogClock):
        self.host = host
        self.clock = clock
        self._last_stamp = ""
        self._last_at = _NEVER  # read only for `_last_stamp`, which no line's stamp equals yet
        # The minute of the last whole-second syslog timestamp: a quiet host's lines rarely share a second,
        # but they share a minute, and only the seconds then need reading.
        self._minute = ""
        self._minute_at = _NEVER

    def parse(self, line: str) -> Event | None:
        """The event of one line, or None. One expression per timestamp shape decides: trying it on every
        line costs less than any cheaper test in front of it."""
        match = self.match(line)
        if match is None:
            return None
        stamp, host, prog, qid, rest = match.groups()
        at = self._last_at if stamp == self._last_stamp else self._time(stamp)
        return self.event(line, at, host, prog, qid, rest)

    def event(self, line: str, at: datetime, host: str, prog: str, qid: str, rest: str) -> Event | None:
        """The event of a matched line (the parts of its match, the time already read), or None."""
        qid = qid[:32]  # as long as a queue id column holds; Postfix's are shorter
        kind, data = _classify(prog.rpartition("/")[2], rest)
        if kind is None:
            return None
        host = (self.host or host)[:100]
        data["service"] = prog
        # Positional: the hot path of ingest makes one per queue line.
        return Event(
            at,
            host,
            kind,
            None if qid == "NOQUEUE" else qid,
            self.key(host, line) if kind in KEYED_KINDS else 0,
            data,
        )

    def key(self, host: str, line: str) -> int:
        """The line's key, counting repeats: the n-th byte-identical copy of a line within the run of lines
        of its second (the current timestamp text) gets the n-th key. Reading the same log again counts the
        same way, so it adds nothing; the count carries over batches through the clock."""
        clock = self.clock
        if clock.run_stamp != self._last_stamp:
            clock.run_stamp, clock.run_counts = self._last_stamp, {}
        counts = clock.run_counts
        repeat = counts.get(line, 0)
        counts[line] = repeat + 1
        return line_key(host, line, repeat)

    @staticmethod
    def match(line: str):
        """The line expression's match (timestamp, host, program, queue id, rest), or None."""
        match = _SYSLOG_LINE.match(line)
        if match is None and line[:1].isdigit():
            match = _RFC3339_LINE.match(line)
        return match

    def _time(self, stamp: str) -> datetime:
        if stamp != self._last_stamp:
            self._last_at = self._convert(stamp)
            self._last_stamp = stamp
        return self._last_at

    def _convert(self, stamp: str) -> datetime:
        if stamp[0].isdigit():
            return _parse_rfc3339(stamp, self.clock.tz)
        if len(stamp) == 15 and stamp[:13] == self._minute and stamp[13:].isdigit():
            second = int(stamp[13:])
            if second < 60:
                return self._minute_at.replace(second=second)
        match = _SYSLOG_TS.match(stamp)
        assert match is not None  # the line expression's timestamp has this shape
        frac = match["frac"]
        if len(stamp) == 15:
            self._minute = ""  # until the new minute has made its time (a bad date raises first)
        at = self.clock.stamp(
            MONTHS[match["mon"]],
            int(match["day"]),
            int(match["h"]),
            int(match["m"]),
            int(match["s"]),
            int(frac.ljust(6, "0")) if frac else 0,
        )
        if len(stamp) == 15:
            self._minute, self._minute_at = stamp[:13], at
        return at


def _parse_rfc3339(text: str, tz: tzinfo) -> datetime:
    text = text.replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    date_part, _sep, rest = text.partition("T")
    if "." in rest:  # Python wants at most 6 fractional digits
        clock_part, frac = rest.split(".", 1)
        fraction = re.match(r"\d+", frac)
        assert fraction is not None  # the line expression's fraction: a digit or more
        digits = fraction.group()
        rest = f"{clock_part}.{digits[:6].ljust(6, '0')}{frac[len(digits) :]}"
    at = datetime.fromisoformat(f"{date_part}T{rest}")
    return at if at.tzinfo is not None else at.replace(tzinfo=tz)


def _classify(service: str, rest: str) -> tuple[str | None, dict]:
    """Decide what a queue line says; returns (kind, data) or (None, {}) for lines the log does not need."""
    if rest.startswith("to=<"):
        match = _TO_ATTRS.match(rest)
        if match is None:
            return None, {}
        data = match.groupdict()
        data["delay"] = float(data["delay"])
        data["dsn"] = data["dsn"][:12]
        data["orig_to"] = data["orig_to"] or ""
        data["response"] = data["response"] or ""
        return Kind.ATTEMPT, data
    if rest.startswith("client="):
        usual = _USUAL_CLIENT.match(rest)
        attrs = {"client": usual[1], "sasl_username": usual[2] or ""} if usual else dict(_ATTR.findall(rest))
        client = attrs.get("client", "")[:300]
        ip = _CLIENT_IP.search(client)
        return Kind.CLIENT, {
            "client": client,
            "client_ip": _ip(ip.group(1)) if ip else None,
            "sasl_username": attrs.get("sasl_username", "")[:320],
        }
    if rest.startswith("message-id="):
        return Kind.MESSAGE_ID, {"message_id": rest[len("message-id=") :].strip().strip("<>")[:500]}
    if rest.startswith("from=<"):
        return _classify_from(rest)
    if rest == "removed":
        return Kind.REMOVED, {}
    if rest.startswith("sender non-delivery notification: "):
        return Kind.BOUNCE_NOTICE, {"bounce_queue_id": rest.rsplit(" ", 1)[-1][:32]}
    if rest.startswith("uid=") and service == "pickup":
        attrs = dict(_ATTR.findall(rest))
        return Kind.PICKUP, {"sender": attrs.get("from", "").strip("<>")}
    if rest.startswith(("reject: ", "milter-reject: ")):
        return _classify_reject(rest)
    return None, {}


def _classify_from(rest: str) -> tuple[str | None, dict]:
    usual = _USUAL_QUEUED.match(rest)
    if usual:
        return Kind.QUEUED, {"sender": usual[1], "size": int(usual[2]), "nrcpt": int(usual[3])}
    attrs = dict(_ATTR.findall(rest))
    sender = attrs.get("from", "").strip("<>")
    if attrs.get("status") == "expired":
        return Kind.EXPIRED, {"sender": sender}
    if not attrs.get("size", "").isdigit():
        return None, {}  # other from= lines, or a truncated one
    return Kind.QUEUED, {
        "sender": sender,
        "size": int(attrs["size"]),
        "nrcpt": int(attrs["nrcpt"]) if attrs.get("nrcpt", "").isdigit() else None,
    }


_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)")


def _ip(text: str) -> str | None:
    """The address if it is one (a garbled line may hold `[1.2.3]`), else None: it goes to an inet column."""
    if _IPV4.fullmatch(text):
        return text
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _reject_parts(rest: str) -> dict | None:
    """`_REJECT.match(rest)`'s groups (stage, client, response, from, to), or None."""
    head = _REJECT_HEAD.match(rest)
    if head is None:
        return None
    start = head.end()
    places = {len(rest.rstrip())}
    for needle in _REJECT_TAIL_STARTS:
        at = rest.find(needle, start)
        while at >= 0:
            places.add(at)
            at = rest.find(needle, at + 1)
    for place in sorted(p for p in places if p >= start):
        tail = _REJECT_TAIL.match(rest, place)
        if tail is not None:
            return {
                "stage": head["stage"],
                "client": head["client"],
                "response": rest[start:place],
                "from": tail["from"],
                "to": tail["to"],
            }
    match = _REJECT.match(rest)  # not reached: the trailing blanks always match
    return None if match is None else match.groupdict()


def _classify_reject(rest: str) -> tuple[str | None, dict]:
    match = _reject_parts(rest)
    if match is None:
        return None, {}
    response = match["response"]
    codes = _REPLY_CODES.match(response)
    client = match["client"] or ""
    ip = _CLIENT_IP.search(client)
    owner = _OWNED_BY.search(response) if "user" in response else None  # both forms say "user"
    return Kind.REJECT, {
        "stage": match["stage"],
        "client": client,
        "client_ip": _ip(ip.group(1)) if ip else None,
        "sender": match["from"] or "",
        "to": match["to"] or "",
        "dsn": (codes["dsn"] or "") if codes else "",
        "response": response,
        "sasl_username": (owner.group(1) or owner.group(2)) if owner else "",
    }
