"""Writes what the relay log's parser, assembler and `COPY` rows make of log files, as text, for `test_compiled.py`.

    python -m tests.relay.assembly_dump OUT LOG [LOG ...]

Runs in a process of its own, so that the pure or the compiled modules are loaded (`POSTBODE_PURE_RELAY`).
Each log is read as ingest reads it (batches of lines through `assemble_lines`, the clock carried from one
to the next) and also line by line through `parse_lines`; the first line of OUT says which modules ran.
"""

import os
import pickle
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
            # As reader processes hand them over: pickled (the clock with each batch).
            assembly, clock = pickle.loads(pickle.dumps((assembly, clock)))
            out.write(f"{path} {host} {start}\n")
            for draft in assembly.messages:
                out.write(f"{draft!r}\n")
            for reject in assembly.rejects:
                out.write(f"{reject!r}\n")
            copy_rows(out, assembly)
    raw = [line.encode() for line in lines[:BATCH_LINES]]
    for event in parse_lines(raw, clock=SyslogClock(now=NOW)):
        out.write(f"{event!r}\n")


def copy_rows(out, assembly) -> None:
    """The `COPY` lines a reader makes of the batch (`relay.ingest.fastpath.prepare`), owners made up."""
    from relay.assembler import NOBODY, Owner
    from relay.copyrows import Timestamps, new_message_rows, pack_events

    fresh = [draft for draft in assembly.messages if draft.starts_here]
    owners = [Owner(i % 7, i % 3 or None, "outbound") if i % 2 else NOBODY for i in range(len(fresh))]
    bounce_of = {i: i - 1 for i in range(1, len(fresh), 50)}
    rows = new_message_rows(fresh, list(range(len(fresh))), owners, bounce_of, {3, 5}, "now", Timestamps())
    for line in (*rows.messages, *rows.recipients, *rows.events, *map(repr, rows.unlinked)):
        out.write(f"{line}\n")
    out.write(f"{sorted(rows.seen_lines)!r} {sorted(rows.credentials_used.items())!r}\n")
    continuing = [draft for draft in assembly.messages if not draft.starts_here]
    pack_events(continuing)
    for draft in continuing:
        out.write(f"{draft.event_lines!r} {draft.events!r}\n")


def write(out_path: str, logs: list[str]) -> None:
    """The dump of `logs` into `out_path`, by the modules this process loaded (Django set up)."""
    import relay.assembler
    import relay.copyrows
    import relay.parser
    from relay.compiled import is_compiled

    modules = (relay.parser, relay.assembler, relay.copyrows)
    with open(out_path, "w") as out:
        out.write(f"compiled {' '.join(str(is_compiled(module)) for module in modules)}\n")
        for path in logs:
            dump(out, path)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postbode.settings")
    import django

    django.setup()
    write(sys.argv[1], sys.argv[2:])


if __name__ == "__main__":
    main()
