"""Following a log file: where the last run stopped (inode and offset), rotation (by inode) and copytruncate."""

import glob
import os

from django.utils import timezone

from ..models import (
    IngestState,
)
from ..parser import SyslogClock
from .attribution import CustomerDirectory
from .pipeline import ingest_range
from .result import BATCH_LINES, IngestResult, log_timezone


def ingest_file(path: str, *, host: str | None = None, batch_lines: int = BATCH_LINES) -> IngestResult:
    """Read what is new in `path` (following rotation) and store it. `host` defaults to the log's own."""
    state, _created = IngestState.objects.get_or_create(host=host or "", path=os.path.abspath(path))
    result = IngestResult()
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return result
    directory = CustomerDirectory()
    clock = SyslogClock(tz=log_timezone())
    if state.inode and state.inode != stat.st_ino:
        rotated = find_rotated(path, state.inode)
        if rotated is not None:
            result.add(ingest_range(state, rotated, state.offset, host, directory, clock, batch_lines))
        _move_state(state, inode=stat.st_ino, offset=0)
    elif state.offset > stat.st_size:
        _move_state(state, inode=stat.st_ino, offset=0)  # truncated in place
    elif not state.inode:
        _move_state(state, inode=stat.st_ino, offset=state.offset)
    result.add(ingest_range(state, path, state.offset, host, directory, clock, batch_lines))
    return result


def find_rotated(path: str, inode: int) -> str | None:
    """The rotated predecessor of `path` (same directory, name starting with it) that has `inode`."""
    for candidate in sorted(glob.glob(glob.escape(path) + "?*")):
        try:
            if os.stat(candidate).st_ino == inode and not candidate.endswith((".gz", ".xz", ".bz2", ".zst")):
                return candidate
        except OSError:
            continue
    return None


def _move_state(state: IngestState, *, inode: int, offset: int) -> None:
    state.inode, state.offset, state.updated_at = inode, offset, timezone.now()
    state.save(update_fields=["inode", "offset", "updated_at"])
