"""Radicale in the local mail stack: deploy/radicale/radicale.conf on a loopback port, logins through the
stack's Dovecot, rights from the stack host's rendered files, collections below the stack directory."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from mailhosts.models import MailHost
from mailhosts.stack import MailStack, StackService, signal_pidfile

from .models import ClientEndpoints
from .rendering import RIGHTS_FILE, rights_for

DAV_OFFSET = 13
CONFIG = "radicale/radicale.conf"


def storage_dir(stack: MailStack) -> Path:
    return stack.path("radicale", "collections")


def values(stack: MailStack, config_dir: Path) -> dict[str, str]:
    return {
        "DAV_LISTEN": f"127.0.0.1:{stack.ports['dav']}",
        "DAV_STORAGE": str(storage_dir(stack)),
        "DAV_MAX_CONTENT_LENGTH": str(settings.DAV_MAX_CONTENT_LENGTH),
        "DAV_DELAY_ON_ERROR": "0",
        "DAV_AUTH_DELAY": "0",
        "DAV_USER": "root",
        "DAV_GROUP": "root",
        "DOVECOT_AUTH_RADICALE_SOCKET": str(stack.path("dovecot", "run", "auth-radicale")),
    }


def prepare(stack: MailStack, config_dir: Path) -> None:
    """Rights that allow each mailbox its own collections until the first apply renders the real ones."""
    storage_dir(stack).mkdir(parents=True, exist_ok=True)
    rights = Path(config_dir) / RIGHTS_FILE
    if not rights.exists():
        rights.parent.mkdir(parents=True, exist_ok=True)
        rights.write_text(rights_for([]))


def start(stack: MailStack, config_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(settings.BASE_DIR), "PYTHONUNBUFFERED": "1"}
    log = open(stack.path("log", "radicale.log"), "ab")  # noqa: SIM115 - handed to the child process
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "-C", str(stack.path(CONFIG))],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    stack.path("radicale.pid").write_text(str(process.pid))


def stop(stack: MailStack) -> list[int | None]:
    return [signal_pidfile(stack.path("radicale.pid"))]


def attach(stack: MailStack, host: MailHost) -> None:
    """Clients of the stack host connect to the loopback ports; its DAV data is in the stack directory."""
    ports = stack.ports
    ClientEndpoints.objects.update_or_create(
        mailhost=host,
        defaults={
            "hostname": "127.0.0.1",
            "imaps_port": ports["imaps"],
            "imap_port": ports["imap"],
            "pop3s_port": ports["pop3s"],
            "pop3_port": ports["pop3"],
            "submissions_port": ports["submissions"],
            "submission_port": ports["submission"],
            "dav_port": ports["dav"],
            "dav_storage_dir": str(storage_dir(stack)),
        },
    )


RADICALE_SERVICE = StackService(
    name="radicale",
    templates={CONFIG: "radicale/radicale.conf"},
    ports={"dav": DAV_OFFSET},
    values=values,
    prepare=prepare,
    start=start,
    stop=stop,
    attach=attach,
    describe=lambda stack: [
        f"  CalDAV/CardDAV (Radicale)   https://127.0.0.1:{stack.ports['dav']}/ ({storage_dir(stack)})"
    ],
)
