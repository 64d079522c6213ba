"""Mailboxes on disk as Dovecot keeps them: `<mail_root>/<domain>/<local part>/Maildir` (Maildir++ layout).

A folder `Work/2026` is the directory `.Work.2026` below the Maildir; the inbox is the Maildir itself. Each
message is one file in `cur/` or `new/` whose name carries its size as Dovecot counts it for the quota
(`,W=` the size with CRLF line ends, `,S=` the size on disk). Deleted mail that `lazy_expunge` keeps lives in
`Maildir-expunged` beside it (see deploy/dovecot/dovecot.conf).
"""

import os
import re
import unicodedata
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAILDIR = "Maildir"
INBOX = "INBOX"
MESSAGE_DIRS = ("cur", "new")
SIZE_IN_NAME = re.compile(r",W=(\d+)|,S=(\d+)")
FOLDER_NAME_MAX = 255


def folder_dir(name: str) -> str:
    """The directory below the Maildir that holds a folder ("" for the inbox)."""
    return "" if name == INBOX else "." + name.replace("/", ".")


def folder_name(directory: str) -> str:
    return directory[1:].replace(".", "/")


def message_size(name: str, path: str | None = None) -> int:
    """The size the quota counts: `W=` from the file name, else `S=`, else the file's size."""
    sizes = {}
    for vsize, size in SIZE_IN_NAME.findall(name):
        if vsize:
            sizes["W"] = int(vsize)
        if size:
            sizes["S"] = int(size)
    if sizes:
        return sizes.get("W", sizes.get("S", 0))
    return os.stat(path).st_size if path else 0


def count_messages(directory: Path) -> tuple[int, int]:
    """(messages, bytes) in one folder's cur/ and new/."""
    messages = size = 0
    for sub in MESSAGE_DIRS:
        try:
            entries = os.scandir(directory / sub)
        except FileNotFoundError:
            continue
        with entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    messages += 1
                    size += message_size(entry.name, entry.path)
    return messages, size


def scan_mailbox(maildir: Path) -> list[dict]:
    """The folders of one Maildir with their message counts and sizes, by name (the inbox first)."""
    if not maildir.is_dir():
        return []
    messages, size = count_messages(maildir)
    folders = [{"name": INBOX, "messages": messages, "bytes": size}]
    with os.scandir(maildir) as entries:
        names = sorted(e.name for e in entries if e.name.startswith(".") and e.is_dir(follow_symlinks=False))
    for directory in names:
        if directory in {".", ".."}:
            continue
        messages, size = count_messages(maildir / directory)
        folders.append({"name": folder_name(directory), "messages": messages, "bytes": size})
    return folders


def check_folder_name(value: str) -> str:
    """A folder name as the restore form takes it; the clear reason it is unusable, or the name."""
    if len(value) > FOLDER_NAME_MAX:
        raise ValidationError(
            _("A folder name has at most %(max)d characters.") % {"max": FOLDER_NAME_MAX}, code="too_long"
        )
    if any(unicodedata.category(c) in {"Cc", "Cf"} for c in value):
        raise ValidationError(_("A folder name cannot contain control characters."), code="control")
    parts = value.split("/")
    if value.startswith("/") or ".." in parts or "." in parts or "" in parts or "\\" in value:
        raise ValidationError(
            _("A folder name cannot start with “/”, contain “//”, “..” or “\\”."), code="path"
        )
    return value
