"""Render a mailbox's autoresponder to a Sieve script (RFC 5228, vacation RFC 5230, date RFC 5260).

Whatever the customer typed ends up only inside quoted strings, escaped per RFC 5228 section 2.4.2:
backslash and double quote get a backslash, NUL is removed (Sieve strings cannot hold it), and line
breaks become plain "\\n" (a quoted string may span lines). No extension that interprets string contents
(variables, encoded-character) is required, so `${...}` stays literal text. The subject is a header
value, so line breaks in it are replaced by spaces.

Start and end are compared as wall-clock time in Europe/Amsterdam: each bound is written in the UTC
offset Amsterdam had at that moment and `currentdate` is read with that same `:zone`, so daylight saving
time cannot shift a bound. The comparison uses the first 19 characters of ISO 8601
(`YYYY-MM-DDTHH:MM:SS`), which sort as text; the zone suffix of `currentdate` only makes it longer.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
REQUIRE = 'require ["vacation","date","relational"];'


def quote(value: str) -> str:
    """A Sieve quoted string holding exactly `value` (minus NUL; line breaks normalised to LF)."""
    text = value.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates cannot be written as UTF-8
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def header_text(value: str) -> str:
    """A value safe for one header line: no CR, LF or NUL."""
    text = value.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    return " ".join(text.split("\n")).strip()


def zone_and_local(moment: datetime) -> tuple[str, str]:
    """("+0100", "2026-12-01T09:00:00") for an aware datetime, as Amsterdam wall-clock time."""
    local = moment.astimezone(AMSTERDAM)
    return local.strftime("%z"), local.strftime("%Y-%m-%dT%H:%M:%S")


def date_test(moment: datetime, comparison: str) -> str:
    zone, local = zone_and_local(moment)
    return f"currentdate :zone {quote(zone)} :value {quote(comparison)} {quote('iso8601')} {quote(local)}"


def render_vacation(
    *,
    subject: str,
    body: str,
    days: int,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> str:
    """The complete Sieve script for one autoresponder (start inclusive, end exclusive)."""
    action = f"vacation :days {int(days)} :subject {quote(header_text(subject))} {quote(body)};"
    conditions = []
    if starts_at is not None:
        conditions.append(date_test(starts_at, "ge"))
    if ends_at is not None:
        conditions.append(date_test(ends_at, "lt"))
    lines = [REQUIRE, ""]
    if conditions:
        lines += ["if allof (" + ",\n          ".join(conditions) + ") {", "    " + action, "}"]
    else:
        lines.append(action)
    return "\n".join(lines) + "\n"


def render_autoresponder(autoresponder) -> str:
    """The script for an `Autoresponder` row (whether it is enabled is the renderer's business)."""
    return render_vacation(
        subject=autoresponder.subject,
        body=autoresponder.body,
        days=autoresponder.interval_days,
        starts_at=autoresponder.starts_at,
        ends_at=autoresponder.ends_at,
    )
