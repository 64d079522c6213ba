"""Mail folders: where a mailbox's Maildir lives, how much it holds (on disk, or as Dovecot counts it), and
removing it for good.

The layout is `<mail root>/<domain>/<local part>/` (Maildir++: messages in `cur/` and `new/`, sub-folders
as `.Name/cur`), as the mail-host apply creates them. The mail root is `MailHost.mail_root`: the host's
`mail_dir`, or `<config_dir>/mail` for the embedded default. These functions measure the files a host keeps
on this machine. Purging calls `remove_mail_folder` right away; the apply also removes folders of
mailboxes that no longer exist on its next apply (whichever comes first; both refuse paths outside the root).
"""

import logging
import os
import shutil
import subprocess
from pathlib import Path

from mailhosts.apply import COMMAND_TIMEOUT, ApplyError
from mailhosts.models import MailHost

logger = logging.getLogger(__name__)

MESSAGE_DIRS = {"cur", "new"}


def mail_root(host) -> Path:
    return host.mail_root


def mail_folder(mailbox) -> Path | None:
    """The mailbox's Maildir, or None when its address could not be a safe path component."""
    host = mailbox.domain.mailhost
    root = mail_root(host).resolve()
    domain, local = mailbox.domain.name, mailbox.local_part
    for part in (domain, local):
        if not part or part in {".", ".."} or "/" in part or "\x00" in part:
            return None
    folder = root / domain / local
    if folder.resolve().parent.parent != root:
        return None
    return folder


def measure_folder(folder: Path) -> int:
    """Bytes of the messages in a Maildir (files in any `cur/` or `new/`); 0 when it does not exist."""
    total = 0
    for directory, _subdirs, files in os.walk(folder, followlinks=False):
        if os.path.basename(directory) not in MESSAGE_DIRS:
            continue
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except OSError:  # delivered or expunged while we looked
                continue
    return total


def measure_mailbox(mailbox) -> int:
    folder = mail_folder(mailbox)
    return measure_folder(folder) if folder is not None else 0


def remove_mail_folder(mailbox) -> bool:
    """Delete the mailbox's Maildir for good. Refuses symlinks and anything outside the host's mail root."""
    folder = mail_folder(mailbox)
    if folder is None or not folder.exists():
        return False
    if folder.is_symlink():
        logger.warning("not removing %s: it is a symbolic link", folder)
        return False
    shutil.rmtree(folder)
    return True


def measure_host_usage(host: MailHost) -> dict[str, int]:
    """Bytes used per mailbox address as Dovecot counts them (`doveadm quota get -A`).

    Needs the host's `doveadm_command`; the embedded default, which has none, is measured from disk.
    """
    if not host.doveadm_command:
        raise ApplyError(f"mail host {host.name} has no doveadm command")
    command = [*host.doveadm_command, "-f", "tab", "quota", "get", "-A"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    if completed.returncode != 0:
        raise ApplyError(f"{' '.join(command)} exited with status {completed.returncode}: {completed.stderr}")
    return parse_quota_report(completed.stdout)


def parse_quota_report(output: str) -> dict[str, int]:
    """`doveadm -f tab quota get -A` → {address: bytes}. Dovecot reports storage in KiB."""
    usage: dict[str, int] = {}
    lines = output.splitlines()
    if not lines:
        return usage
    header = lines[0].split("\t")
    for line in lines[1:]:
        row = dict(zip(header, line.split("\t"), strict=False))
        if row.get("Type") == "STORAGE" and row.get("Username"):
            usage[row["Username"]] = usage.get(row["Username"], 0) + int(row.get("Value") or 0) * 1024
    return usage
