"""Roundcube in the local mail stack (mailhosts/stack.py): deploy/roundcube/config.inc.php, a private root
built by deploy/roundcube/make-root.sh from Debian's roundcube packages, served by `php -S` on a loopback port
(production: PHP-FPM behind the provider's web server with TLS, deploy/README.md). It logs in to the stack's
IMAPS and sends through its submission port, trusting the stack's test CA; its settings from the panel are
the stack host's rendered `webmail/` files. A test or developer may add `roundcube/config/local.inc.php`
(for example the panel's address when it is not SITE_URL).
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from django.conf import settings

from mailhosts.stack import DEPLOY_DIR, MailStack, StackError, StackService, port_open

WEBMAIL_OFFSET = 45
CONFIG = "roundcube/config/config.inc.php"
CHECKPASSWORD = "dovecot/webmail-checkpassword"
START_TIMEOUT = 20.0


def php_string(value: str) -> str:
    """A value for a single-quoted PHP string in the template."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def root_dir(stack: MailStack) -> Path:
    return stack.path("roundcube", "root")


def config_dir(stack: MailStack) -> Path:
    return stack.path("roundcube", "config")


def url(stack: MailStack) -> str:
    return f"http://127.0.0.1:{stack.ports['webmail']}/"


def values(stack: MailStack, config_dir_: Path) -> dict[str, str]:
    ports = stack.ports
    return {
        "ROUNDCUBE_DB_DSN": f"sqlite:///{stack.path('roundcube', 'db', 'roundcube.sqlite')}?mode=0640",
        "ROUNDCUBE_LOG_DIR": str(stack.path("log", "roundcube")),
        "ROUNDCUBE_TEMP_DIR": str(stack.path("roundcube", "temp")),
        "ROUNDCUBE_USE_HTTPS": "false",
        # one mail host on loopback: every mail host the panel names is this one, under its own name
        "ROUNDCUBE_IMAP_HOST": f"ssl://127.0.0.1:{ports['imaps']}",
        "ROUNDCUBE_SMTP_HOST": f"tls://127.0.0.1:{ports['submission']}",
        "ROUNDCUBE_PEER_NAME": stack.hostname,
        "ROUNDCUBE_CA_FILE": str(stack.ca_file),
        "WEBMAIL_CHECKPASSWORD": str(stack.path(CHECKPASSWORD)),
        "WEBMAIL_PRODUCT_NAME": php_string(f"{settings.SITE_NAME} Webmail"),
        "WEBMAIL_SUPPORT_URL": php_string(settings.SITE_URL),
        "WEBMAIL_PANEL_URL": php_string(settings.SITE_URL),
    }


def prepare(stack: MailStack, config_dir_: Path) -> None:
    """The private root, its database, log and temporary folders, and Dovecot's checkpassword script for
    webmail sessions (executable; it refuses every credential until the panel's first apply renders its
    settings)."""
    if shutil.which("php") is None or not Path("/usr/share/roundcube/index.php").exists():
        raise StackError(
            "Roundcube is not installed (Debian packages roundcube-core roundcube-sqlite3 php-cli)"
        )
    for sub in [("roundcube", "db"), ("roundcube", "temp"), ("log", "roundcube")]:
        stack.path(*sub).mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "sh",
            str(DEPLOY_DIR / "roundcube" / "make-root.sh"),
            str(root_dir(stack)),
            str(config_dir(stack)),
            str(DEPLOY_DIR),
        ],
        check=True,
        capture_output=True,
    )
    stack.path(CHECKPASSWORD).chmod(0o755)


def start(stack: MailStack, config_dir_: Path) -> None:
    log = open(stack.path("log", "roundcube-server.log"), "ab")  # noqa: SIM115 - handed to the child process
    process = subprocess.Popen(
        # No opcache: a developer or a test changes roundcube/config/local.inc.php at will, and a cached
        # compile of it would be used until opcache looks at the file again.
        [
            "php",
            "-d",
            "opcache.enable=0",
            "-S",
            f"127.0.0.1:{stack.ports['webmail']}",
            "-t",
            str(root_dir(stack) / "public_html"),
        ],
        cwd=root_dir(stack),
        env={**os.environ, "PHP_CLI_SERVER_WORKERS": "4"},  # the browser asks several things at once
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    stack.path("roundcube.pid").write_text(str(process.pid))
    deadline = time.monotonic() + START_TIMEOUT
    while not port_open(stack.ports["webmail"]):
        if process.poll() is not None or time.monotonic() > deadline:
            raise StackError(
                f"Roundcube (php -S) did not start; see {stack.path('log', 'roundcube-server.log')}"
            )
        time.sleep(0.05)


def stop(stack: MailStack) -> list[int | None]:
    """End `php -S` and its workers (its own process group)."""
    pidfile = stack.path("roundcube.pid")
    try:
        pid = int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return []
    pidfile.unlink(missing_ok=True)
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return []
    return [pid]


ROUNDCUBE_SERVICE = StackService(
    name="roundcube",
    templates={CONFIG: "roundcube/config.inc.php", CHECKPASSWORD: "dovecot/webmail-checkpassword"},
    ports={"webmail": WEBMAIL_OFFSET},
    values=values,
    prepare=prepare,
    start=start,
    stop=stop,
    describe=lambda stack: [f"  Webmail (Roundcube)         {url(stack)}"],
)
