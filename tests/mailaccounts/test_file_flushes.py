"""How the apply's batch of files reaches the disk: one flush of the config folder's file system before the
renames and one after, not a `sync` of every file system of the machine (on a mail host that would also wait
for the mail store's writes)."""

import os

import pytest

from mailhosts import files
from mailhosts.files import sync_files
from mailhosts.rendering import RenderedFile

BATCH = {f"postfix/part-{number}": RenderedFile(f"line {number}\n".encode()) for number in range(12)}


def no_global_sync():
    raise AssertionError("os.sync() flushes every file system of the machine")


@pytest.fixture
def flushes(settings, monkeypatch):
    """The file systems `syncfs` was called for (by device), with the real call made."""
    settings.MAILHOST_FSYNC = True
    real = files._syncfs()
    assert real is not None, "Linux's C library has syncfs"
    devices: list[int] = []

    def recording(fd: int) -> int:
        devices.append(os.fstat(fd).st_dev)
        return real(fd)

    monkeypatch.setattr(files, "_syncfs", lambda: recording)
    monkeypatch.setattr(os, "sync", no_global_sync)
    return devices


def test_a_batch_flushes_the_config_folders_file_system_before_and_after_the_renames(tmp_path, flushes):
    assert len(BATCH) >= files.BATCH_FROM
    sync_files(tmp_path, BATCH, list(BATCH))
    assert flushes == [tmp_path.stat().st_dev] * 2
    assert {f"postfix/{path.name}" for path in (tmp_path / "postfix").iterdir()} == set(BATCH)
    assert (tmp_path / "postfix/part-3").read_bytes() == b"line 3\n"


def test_without_syncfs_the_batch_flushes_with_sync(tmp_path, settings, monkeypatch):
    settings.MAILHOST_FSYNC = True
    calls = []
    monkeypatch.setattr(files, "_syncfs", lambda: None)
    monkeypatch.setattr(os, "sync", lambda: calls.append("sync"))
    sync_files(tmp_path, BATCH, list(BATCH))
    assert calls == ["sync", "sync"]
    assert len(list((tmp_path / "postfix").iterdir())) == len(BATCH)


def test_without_mailhost_fsync_nothing_is_flushed(tmp_path, settings, monkeypatch):
    """The fast tests' temporary folders (`MAILHOST_FSYNC` off) are not flushed at all, as single files are not."""
    settings.MAILHOST_FSYNC = False
    monkeypatch.setattr(files, "_syncfs", lambda: no_global_sync)
    monkeypatch.setattr(os, "sync", no_global_sync)
    sync_files(tmp_path, BATCH, list(BATCH))
    assert len(list((tmp_path / "postfix").iterdir())) == len(BATCH)
