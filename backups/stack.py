"""The backups' part of the local mail stack: Dovecot's doveadm HTTP API on its own port.

Dovecot reads the API key and the ACL file when it starts, so `prepare` writes them (the same bytes the
renderer writes on every apply); `attach` tells the panel where the host's API is.
"""

from pathlib import Path

from mailhosts.files import ids_of, write_atomic
from mailhosts.models import MailHost
from mailhosts.stack import MailStack, StackService

from .models import HostDoveadm
from .rendering import backup_files

DOVEADM_OFFSET = 31


def api_url(stack: MailStack) -> str:
    return f"http://127.0.0.1:{stack.ports['doveadm']}/doveadm/v1"


def prepare(stack: MailStack, config_dir: Path) -> None:
    for rel, wanted in backup_files().items():
        write_atomic(Path(config_dir) / rel, wanted.content, wanted.mode, ids_of(wanted.owner, wanted.group))


def attach(stack: MailStack, host: MailHost) -> None:
    HostDoveadm.objects.update_or_create(host=host, defaults={"url": api_url(stack)})


DOVEADM_SERVICE = StackService(
    name="backups-doveadm",
    ports={"doveadm": DOVEADM_OFFSET},
    values=lambda stack, config_dir: {
        "DOVEADM_ADDRESS": "127.0.0.1",
        "DOVEADM_PORT": str(stack.ports["doveadm"]),
    },
    prepare=prepare,
    attach=attach,
    describe=lambda stack: [f"  doveadm HTTP API (panel)    {api_url(stack)}"],
)
