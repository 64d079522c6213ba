"""Writing rendered files: only what changed, atomically (temp file, fsync, rename), and nothing more.

A reader (Postfix, Dovecot, OpenDKIM) sees either the old file or the new one, never half of one; a crash
between two files leaves each file whole, and the next apply finishes the job.
"""

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from .render import RenderedFile


def owner_uid(owner: str) -> int | None:
    """The uid to give a file to, or None when it stays with the writer (not root, or no owner wanted)."""
    if not owner or os.geteuid() != 0:
        return None
    return pwd.getpwnam(owner).pw_uid


def write_atomic(path: Path, content: bytes, mode: int, owner: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as temp:
            temp.write(content)
            temp.flush()
            os.fchmod(temp.fileno(), mode)
            if (uid := owner_uid(owner)) is not None:
                os.fchown(temp.fileno(), uid, -1)
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_current(path: Path, wanted: RenderedFile) -> bool:
    try:
        status = path.stat()
        if (status.st_mode & 0o777) != wanted.mode:
            return False
        if (uid := owner_uid(wanted.owner)) is not None and status.st_uid != uid:
            return False
        return path.read_bytes() == wanted.content
    except FileNotFoundError:
        return False


def plan_changes(root: Path, files: dict[str, RenderedFile], managed_dirs: Iterable[str]) -> list[str]:
    """The relative paths `sync_files` would write or remove to make `root` hold exactly `files`.

    Postfix's `.db` files built from a rendered map are kept; any other file in a managed directory that
    the rendering no longer produces (a deleted autoresponder's script, a retired DKIM key) is removed.
    """
    changed = [rel for rel, wanted in sorted(files.items()) if not is_current(root / rel, wanted)]
    return changed + stale_files(root, files, managed_dirs)


def sync_files(root: Path, files: dict[str, RenderedFile], changes: Iterable[str]) -> None:
    for rel in changes:
        if rel in files:
            write_atomic(root / rel, files[rel].content, files[rel].mode, files[rel].owner)
        else:
            (root / rel).unlink(missing_ok=True)


def stale_files(root: Path, files: dict[str, RenderedFile], managed_dirs: Iterable[str]) -> list[str]:
    keep = set(files) | {f"{rel}.db" for rel in files}
    stale = []
    for managed in managed_dirs:
        for directory, _subdirs, names in os.walk(root / managed):
            for name in names:
                rel = str((Path(directory) / name).relative_to(root))
                if rel not in keep and not name.endswith(".tmp"):
                    stale.append(rel)
    return sorted(stale)


def ensure_mail_folder(folder: Path) -> bool:
    """Create a mailbox's home folder owned by the mail user; True when it was created now."""
    if folder.exists():
        return False
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir(mode=0o700)
    if os.geteuid() == 0:
        os.chown(folder.parent, settings.MAIL_UID, settings.MAIL_GID)
        os.chown(folder, settings.MAIL_UID, settings.MAIL_GID)
    return True


def remove_mail_folder(root: Path, folder: Path) -> bool:
    """Delete a purged mailbox's folder for good; never a symbolic link or anything outside `root`."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    if folder.resolve().parent.parent != root.resolve():
        return False
    shutil.rmtree(folder)
    return True


def read_lines(path: Path) -> set[str]:
    try:
        return set(path.read_text().splitlines())
    except FileNotFoundError:
        return set()
