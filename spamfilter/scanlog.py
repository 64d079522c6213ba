"""Parse rspamd's per-message log lines (the `postbode-scan` format of deploy/rspamd/local.d/logging.inc).

    2026-12-06 05:52:27 #7365(rspamd_proxy) <012d93>; proxy; rspamd_task_write_log: postbode-scan
    qid=<B61CE532967> user=<undef> action=<reject> score=<7.40/5.00> symbols=<GTUBE(0.00),...>
    from=<a@b.nl> rcpts=<jan@bakkerij.nl,piet@bakkerij.nl>

A pure function from lines to `Scan`s; anything else (rspamd's other log lines, garbage) is skipped.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

LINE = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.\d+)? .*?postbode-scan "
    r"qid=<(?P<qid>[^>]*)> user=<(?P<user>[^>]*)> action=<(?P<action>[^>]*)> "
    r"score=<(?P<score>-?[\d.]+)/(?P<threshold>[^>]*)> symbols=<(?P<symbols>[^>]*)> "
    r"from=<(?P<sender>[^>]*)> rcpts=<(?P<rcpts>[^>]*)>\s*$"
)
SYMBOL = re.compile(r"([A-Z0-9_]+)\((-?[\d.]+)\)")
UNDEFINED = {"", "undef"}
QUEUE_ID = re.compile(r"[0-9A-Za-z]{5,20}")


@dataclass
class Scan:
    at: datetime
    queue_id: str
    user: str
    action: str
    score: Decimal
    symbols: dict[str, float] = field(default_factory=dict)
    sender: str = ""
    recipients: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.action == "reject"


def parse_line(line: str, *, tz: ZoneInfo) -> Scan | None:
    match = LINE.match(line)
    if match is None:
        return None
    queue_id = match["qid"]
    if queue_id in UNDEFINED or not QUEUE_ID.fullmatch(queue_id):
        return None
    try:
        at = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
        score = Decimal(match["score"]).quantize(Decimal("0.01"))
    except (ValueError, InvalidOperation):
        return None
    user = match["user"]
    return Scan(
        at=at,
        queue_id=queue_id,
        user="" if user in UNDEFINED else user[:254],
        action=match["action"][:20],
        score=score,
        symbols={name: float(value) for name, value in SYMBOL.findall(match["symbols"])},
        sender="" if match["sender"] in UNDEFINED else match["sender"][:254],
        recipients=[r.strip().lower()[:254] for r in match["rcpts"].split(",") if r.strip() not in UNDEFINED],
    )


def parse_lines(lines, *, tz: ZoneInfo):
    for line in lines:
        scan = parse_line(line, tz=tz)
        if scan is not None:
            yield scan
