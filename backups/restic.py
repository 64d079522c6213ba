"""restic, the backup engine: every call of its command line, with `--json` where it has one.

One repository per mail host. Exit status 3 of `backup` means the snapshot was made but some files could not
be read (a Maildir file renamed, a lock file removed while restic walked the tree): the snapshot is kept and
the warning recorded; such a message is in the next snapshot under its new name.
"""

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

# tmp/ holds messages still being written (delivery renames them into new/ once complete), Dovecot rebuilds
# its index cache, and lock files come and go while restic walks the tree.
# Maildir's tmp folders (of the inbox and of each sub-folder), Dovecot's caches and locks. A bare "tmp" would
# also match a parent directory named tmp (a mail root below /tmp), leaving the snapshot empty.
EXCLUDES = ("Maildir/tmp", "Maildir/.*/tmp", "dovecot.index.cache", "*.lock")
INCOMPLETE_SNAPSHOT = 3
TIMEOUT = 6 * 3600


class ResticError(Exception):
    """restic failed or could not be run; the message is what staff see."""


class RepositoryMissing(ResticError):
    """There is no repository at the location (never initialised, or a storage that is not mounted)."""


@dataclass(frozen=True)
class Repository:
    location: str
    password: str
    cache_dir: str = ""

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RESTIC_")}
        env.update(RESTIC_REPOSITORY=self.location, RESTIC_PASSWORD=self.password)
        if self.cache_dir:
            env["RESTIC_CACHE_DIR"] = self.cache_dir
        return env

    def run(self, *args: str, allowed: tuple[int, ...] = (0,), timeout: float = TIMEOUT):
        try:
            completed = subprocess.run(
                ["restic", *args],
                env=self.environment(),
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ResticError(f"restic {args[0]}: {error}") from error
        if completed.returncode not in allowed:
            output = (completed.stderr or completed.stdout).strip()[-2000:]
            if "Is there a repository at the following location?" in output:
                raise RepositoryMissing(f"no restic repository at {self.location}: {output}")
            raise ResticError(f"restic {args[0]} exited with status {completed.returncode}: {output}")
        return completed

    def exists(self) -> bool:
        try:
            self.run("cat", "config", timeout=120)
        except RepositoryMissing:
            return False
        return True

    def init(self) -> None:
        if self.location.startswith("/"):
            Path(self.location).parent.mkdir(parents=True, exist_ok=True)
        self.run("init", timeout=300)

    def unlock(self) -> None:
        """Remove stale locks a killed run left behind (restic keeps locks of live processes)."""
        self.run("unlock", timeout=300)

    def backup(self, paths: list[str], *, host: str, tags: list[str]) -> tuple[dict, str]:
        """(restic's summary, a warning or ""): the snapshot is in the summary's `snapshot_id`."""
        args = ["backup", "--json", "--host", host]
        for tag in tags:
            args += ["--tag", tag]
        for pattern in EXCLUDES:
            args += ["--exclude", pattern]
        completed = self.run(*args, *paths, allowed=(0, INCOMPLETE_SNAPSHOT))
        summary = {}
        for line in completed.stdout.splitlines():
            if '"summary"' in line:
                summary = json.loads(line)
        if not summary.get("snapshot_id"):
            raise ResticError(f"restic backup made no snapshot: {completed.stderr.strip()[-2000:]}")
        warning = ""
        if completed.returncode == INCOMPLETE_SNAPSHOT:
            warning = completed.stderr.strip()[-2000:]
        return summary, warning

    def snapshots(self, *, host: str) -> list[dict]:
        return json.loads(self.run("snapshots", "--json", "--host", host, timeout=600).stdout or "[]")

    def forget(self, *, host: str, keep_daily: int, keep_within: str) -> None:
        self.run(
            "forget", "--host", host, "--keep-daily", str(keep_daily), "--keep-within", keep_within, "--prune"
        )

    def restore(self, snapshot_id: str, *, target: Path, includes: list[str], lock: bool = True) -> None:
        args = ["restore", snapshot_id, "--target", str(target)]
        if not lock:
            args.append("--no-lock")
        for include in includes:
            args += ["--include", include]
        self.run(*args)
