"""Writes what the relay log's parser and assembler make of log files, as text, for `test_compiled.py`.

    python -m tests.relay.assembly_dump OUT LOG [LOG ...]

Runs in a process of its own, so that the pure or the compiled modules are loaded (`POSTBODE_PURE_RELAY`).
Each log is read as ingest reads it (batches of lines through `assemble_lines`, the clock carried from one
to the next) and also line by line through `parse_lines`; the first line of OUT says which modules ran.
"""

import os
import sys
from datetime import UTC, datetime

BATCH_LINES = 20_000
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def dump(out, path: str) -> None:
    from relay.assembler import assemble_lines
    from relay.ingest.lines import decode_lines
    from relay.parser import SyslogClock, parse_lines

    with open(path, "rb") as log:
        lines = decode_lines(log.read())
    for host in (None, "mx9"):
        clock = SyslogClock(now=NOW)
        for start in range(0, len(lines), BATCH_LINES):
            assembly = assemble_lines(lines[start : start + BATCH_LINES], host=host, clock=clock)
            out.write(f"{path} {host} {start}\n")
            for draft in assembly.messages:
                out.write(f"{draft!r}\n")
            for reject in assembly.rejects:
                out.write(f"{reject!r}\n")
    raw = [line.encode() for line in lines[:BATCH_LINES]]
    for event in parse_lines(raw, clock=SyslogClock(now=NOW)):
        out.write(f"{event!r}\n")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postbode.settings")
    import django

    django.setup()
    import relay.assembler
    import relay.parser
    from relay.compiled import is_compiled

    with open(sys.argv[1], "w") as out:
        out.write(f"compiled {is_compiled(relay.parser)} {is_compiled(relay.assembler)}\n")
        for path in sys.argv[2:]:
            dump(out, path)


if __name__ == "__main__":
    main()
