"""`python spamfilter/reload.py PIDFILE CONTROLLER_URL RSPAMD_DIR PASSWORD_FILE`: when the panel's rspamd files (the settings
and list maps, in the directory rspamd's `RSPAMD_DIR/rspamd.conf.local.override` names) changed since the last
reload, make rspamd re-read them and wait until
the new configuration is serving (a mail host's reload step, see stack.py).

An apply runs every reload step whenever any file changed; a mailbox's password is none of rspamd's business,
so the newest mtime of its files is compared with a stamp next to the pid file and nothing happens when it is
not newer. SIGHUP makes rspamd load its configuration again and replace its workers without failing a scan;
the controller's `/stat` (asked with the controller password read from PASSWORD_FILE) shows a new `config_id`
once that is done. Plain standard library: the reload step
runs outside Django. Exit status 1 (with the reason) when rspamd is not running or does not come back in time.
"""

import json
import os
import re
import signal
import sys
import time
import urllib.error
import urllib.request

TIMEOUT = 30.0
SETTLE = 0.3  # the old workers finish what they had; new messages go to the new ones


def read_password(password_file: str) -> str:
    with open(password_file) as file:
        return file.read().strip()


def config_id(controller: str, password: str) -> str | None:
    url = f"{controller.rstrip('/')}/stat"
    request = urllib.request.Request(url, headers={"Password": password})  # noqa: S310 - an http URL
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
            return json.load(response).get("config_id")
    except (OSError, ValueError, urllib.error.URLError):
        return None


RSPAMD_FILES = (".conf", ".map")


def newest_change(rendered_dir: str) -> int:
    newest = 0
    with os.scandir(rendered_dir) as entries:
        for entry in entries:
            if entry.is_file() and entry.name.endswith(RSPAMD_FILES):
                newest = max(newest, entry.stat().st_mtime_ns)
    return newest


def rendered_dir(rspamd_dir: str) -> str:
    """The directory of the settings map named in rspamd.conf.local.override (`settings = "file://..."`)."""
    with open(os.path.join(rspamd_dir, "rspamd.conf.local.override")) as file:
        match = re.search(r'settings = "file://([^"]+)"', file.read())
    if match is None:
        raise ValueError(f"no settings map in {rspamd_dir}/rspamd.conf.local.override")
    return os.path.dirname(match.group(1))


def stamp_path(pidfile: str) -> str:
    return os.path.join(os.path.dirname(pidfile), "postbode-reloaded")


def reload_if_changed(pidfile: str, controller: str, rspamd_dir: str, password_file: str) -> bool:
    """Reload when the rendered files are newer than the last reload (the stamp file's mtime); True when it
    reloaded. `fast_path_command` skips starting Python at all when nothing changed."""
    stamp = stamp_path(pidfile)
    newest = newest_change(rendered_dir(rspamd_dir))
    try:
        last = os.stat(stamp).st_mtime_ns
    except FileNotFoundError:
        last = -1
    if newest <= last:
        return False
    reload(pidfile, controller, read_password(password_file))
    with open(stamp, "w"):
        pass
    os.utime(stamp, ns=(newest, newest))
    return True


def fast_path_command(
    python: str, script: str, pidfile: str, controller: str, rspamd_dir: str, password_file: str
) -> list[str]:
    """The reload step: a shell test (a few ms) that runs this script only when a rendered rspamd file is newer
    than the stamp, so an apply that changed only other files (a password) costs next to nothing."""
    override = os.path.join(rspamd_dir, "rspamd.conf.local.override")
    return [
        "sh",
        "-c",
        'd=$(sed -n \'s|^settings = "file://\\(.*\\)/[^/]*";$|\\1|p\' "$1"); '
        '[ -e "$2" ] && [ -z "$(find "$d" -maxdepth 1 -type f \\( -name "*.conf" -o -name "*.map" \\) -newer "$2")" ] '
        '|| exec "$3" "$4" "$5" "$6" "$7" "$8"',
        "rspamd-reload",
        override,
        stamp_path(pidfile),
        python,
        script,
        pidfile,
        controller,
        rspamd_dir,
        password_file,
    ]


def reload(pidfile: str, controller: str, password: str, *, timeout: float = TIMEOUT) -> None:
    with open(pidfile) as file:
        pid = int(file.read().strip())
    before = config_id(controller, password)
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = config_id(controller, password)
        if now is not None and now != before:
            time.sleep(SETTLE)
            return
        time.sleep(0.1)
    raise TimeoutError(f"rspamd (pid {pid}) did not load its new configuration within {timeout:.0f}s")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(
            "rspamd reload failed: usage: reload.py PIDFILE CONTROLLER_URL RSPAMD_DIR PASSWORD_FILE (the controller"
            " needs its password since issue 17; add the password file to the host's reload step)",
            file=sys.stderr,
        )
        sys.exit(1)
    try:
        reload_if_changed(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4])
    except (OSError, ValueError, TimeoutError, IndexError) as error:
        print(f"rspamd reload failed: {error}", file=sys.stderr)
        sys.exit(1)
