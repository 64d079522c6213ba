"""`python -m spamfilter.reload PIDFILE CONTROLLER_URL`: make rspamd re-read its settings and maps, and wait
until the new configuration is serving (a mail host's reload step, see stack.py).

SIGHUP makes rspamd load its configuration again and replace its workers without failing a scan; the
controller's `/stat` shows a new `config_id` once that is done. Plain standard library: the reload step runs
outside Django. Exit status 1 (with the reason) when rspamd is not running or does not come back in time.
"""

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request

TIMEOUT = 30.0
SETTLE = 0.3  # the old workers finish what they had; new messages go to the new ones


def config_id(controller: str) -> str | None:
    try:
        with urllib.request.urlopen(f"{controller.rstrip('/')}/stat", timeout=2) as response:  # noqa: S310
            return json.load(response).get("config_id")
    except (OSError, ValueError, urllib.error.URLError):
        return None


def reload(pidfile: str, controller: str, *, timeout: float = TIMEOUT) -> None:
    with open(pidfile) as file:
        pid = int(file.read().strip())
    before = config_id(controller)
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = config_id(controller)
        if now is not None and now != before:
            time.sleep(SETTLE)
            return
        time.sleep(0.1)
    raise TimeoutError(f"rspamd (pid {pid}) did not load its new configuration within {timeout:.0f}s")


if __name__ == "__main__":
    try:
        reload(sys.argv[1], sys.argv[2])
    except (OSError, ValueError, TimeoutError, IndexError) as error:
        print(f"rspamd reload failed: {error}", file=sys.stderr)
        sys.exit(1)
