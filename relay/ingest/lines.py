"""Reading whole lines from a log file, a batch at a time, up to a byte limit."""

import os

READ_CHUNK = 1 << 20


def _read_batch(log, batch_lines: int, limit: int) -> tuple[list[str], int]:
    """Up to `batch_lines` whole lines (decoded, without their newline) within `limit` bytes, read a megabyte
    at a time, and the bytes they took; a last line without newline is left (the file is positioned before
    it) for the next run."""
    data, consumed = read_block(log, batch_lines, limit)
    return decode_lines(data), consumed


def read_block(log, batch_lines: int, limit: int) -> tuple[bytes, int]:
    """`_read_batch`'s lines as the bytes they are in the file, each with its newline; and their length."""
    whole: list[bytes] = []  # blocks of whole lines, each ending with its newline
    count = consumed = 0
    tail = b""
    while count < batch_lines and consumed + len(tail) < limit:
        chunk = log.read(min(READ_CHUNK, limit - consumed - len(tail)))
        if not chunk:
            break
        block = tail + chunk
        cut = block.rfind(b"\n") + 1
        found = block.count(b"\n", 0, cut)
        if count + found > batch_lines:  # the batch ends inside this block: after its n-th newline
            cut = 0
            for _ in range(batch_lines - count):
                cut = block.index(b"\n", cut) + 1
            found = batch_lines - count
        whole.append(block[:cut])
        tail = block[cut:]
        count += found
        consumed += cut
    log.seek(-len(tail), os.SEEK_CUR)
    return b"".join(whole), consumed


def decode_lines(data: bytes) -> list[str]:
    """The lines of whole-line bytes, decoded at once (leniently: a broken byte becomes U+FFFD, as decoding
    each line alone would make it). Split on newlines only, as Postfix ends its lines."""
    lines = data.decode("utf-8", "replace").split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def lines_before(path: str, offset: int, size: int = 64 * 1024) -> list[bytes]:
    """The whole lines in the `size` bytes before `offset` (enough for the last second of a log)."""
    start = max(0, offset - size)
    with open(path, "rb") as log:
        log.seek(start)
        data = log.read(offset - start)
    if start > 0:
        data = data[data.find(b"\n") + 1 :]
    return data.split(b"\n")
