"""A local SMTP server standing in for the internet in the mail stack: it accepts every message and
writes it as a file, `<directory>/<time>-<n>.eml`, with the envelope in `X-Sink-*` headers on top.

Run as `python -m mailaccounts.smtpsink DIRECTORY PORT` (mailaccounts/mailstack.py starts it).
"""

import itertools
import os
import signal
import sys
import time
from pathlib import Path

from aiosmtpd.controller import Controller

_counter = itertools.count(1)


class SinkHandler:
    def __init__(self, directory: Path):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        header = f"X-Sink-Mail-From: <{envelope.mail_from}>\r\n"
        header += "".join(f"X-Sink-Rcpt-To: <{rcpt}>\r\n" for rcpt in envelope.rcpt_tos)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        name = f"{time.time_ns()}-{next(_counter)}.eml"
        temp = self.directory / f".{name}.tmp"
        temp.write_bytes(header.encode() + content)
        os.replace(temp, self.directory / name)
        return "250 2.0.0 Stored in the sink"


def main(directory: str, port: str) -> None:
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    controller = Controller(
        SinkHandler(target), hostname="127.0.0.1", port=int(port), server_hostname="sink.postbode.test"
    )
    controller.start()
    signal.signal(signal.SIGTERM, lambda *_: (controller.stop(), sys.exit(0)))
    while True:
        signal.pause()


if __name__ == "__main__":
    main(*sys.argv[1:3])
