"""Reading whole lines from a log file, a batch at a time, up to a byte limit."""

import os

# A reader's batch (`relay.ingest.pipeline`, at most 16 MB) is read at once and handed on as a view of what
# was read. A megabyte at a time, each reader's 2 x 312 MB of the varied benchmark log went through a
# concatenation, a slice and a join: 0.8 s of the two readers' CPU per run, most of it the kernel giving
# each fresh 16 MB its pages.
READ_CHUNK = 16 << 20


def _read_batch(log, batch_lines: int, limit: int) -> tuple[list[str], int]:
    """Up to `batch_lines` whole lines (decoded, without their newline) within `limit` bytes, read
    `READ_CHUNK` at a time, and the bytes they took; a last line without newline is left (the file is
    positioned before it) for the next run."""
    data, consumed = read_block(log, batch_lines, limit)
    return decode_lines(data), consumed


def read_block(log, batch_lines: int, limit: int) -> tuple[bytes | memoryview, int]:
    """`_read_batch`'s lines as the bytes they are in the file, each with its newline (a view of a block
    read, where the batch ended inside it); and their length."""
    whole: list[bytes] = []  # blocks of whole lines, each ending with its newline
    count = consumed = 0
    tail = b""
    while count < batch_lines and consumed + len(tail) < limit:
        chunk = log.read(min(READ_CHUNK, limit - consumed - len(tail)))
        if not chunk:
            break
        block = tail + chunk if tail else chunk
        cut = block.rfind(b"\n") + 1
        found = block.count(b"\n", 0, cut)
        if count + found > batch_lines:  # the batch ends inside this block: after its n-th newline
            cut = _after_newline(block, batch_lines - count, found, cut)
            found = batch_lines - count
        whole.append(block if cut == len(block) else memoryview(block)[:cut])  # no copy (of 16 MB)
        tail = block[cut:]
        count += found
        consumed += cut
    log.seek(-len(tail), os.SEEK_CUR)
    return (whole[0] if len(whole) == 1 else b"".join(whole)), consumed


def _after_newline(block: bytes, n: int, found: int, cut: int) -> int:
    """The position after the `n`-th newline of `block`, which holds `found` of them before `cut` (after its
    last one): looked for from whichever end is nearer. A big block usually ends a few thousand lines after
    the batch does, and a hundred thousand searches from its start cost 15 ms a batch."""
    if n <= found - n:
        position = 0
        for _ in range(n):
            position = block.index(b"\n", position) + 1
        return position
    position = cut - 1  # the found-th newline
    for _ in range(found - n):
        position = block.rindex(b"\n", 0, position)
    return position + 1


def decode_lines(data: bytes | memoryview) -> list[str]:
    """The lines of whole-line bytes, decoded at once (leniently: a broken byte becomes U+FFFD, as decoding
    each line alone would make it). Split on newlines only, as Postfix ends its lines."""
    lines = str(data, "utf-8", "replace").split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


# How much of a block's start and end `skip_lines` reads first (16 times more each time that is not enough).
SKIP_ENDS = 1 << 16


def skip_lines(clock, data: bytes | memoryview) -> None:
    """Move `clock` over a block of whole lines another reader parses (`SyslogClock.skip`), reading only as
    much of its start and end as that needs (`SyslogClock.skip_ends`)."""
    size = SKIP_ENDS
    while size < len(data):
        head = bytes(data[:size]).split(b"\n")[:-1]  # whole lines only: the last may be cut
        tail = bytes(data[-size:]).split(b"\n")[1:]  # the first may be cut
        if clock.skip_ends(head, tail):
            return
        size *= 16
    clock.skip(bytes(data).split(b"\n"))


def lines_before(path: str, offset: int, size: int = 64 * 1024) -> list[bytes]:
    """The whole lines in the `size` bytes before `offset` (enough for the last second of a log)."""
    start = max(0, offset - size)
    with open(path, "rb") as log:
        log.seek(start)
        data = log.read(offset - start)
    if start > 0:
        data = data[data.find(b"\n") + 1 :]
    return data.split(b"\n")
