"""What a mail host's nightly backup holds: a list other capabilities add to.

Mail registers its folders here (see apps.py); calendars and contacts register theirs in their own
`AppConfig.ready`: `register_backup_source(BackupSource("calendars", lambda host: [Path(...)]))`.
Paths are absolute paths on the mail host; missing ones are left out of that night's snapshot.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mailhosts.models import MailHost


@dataclass(frozen=True)
class BackupSource:
    name: str
    paths: Callable[[MailHost], list[Path]]


_sources: dict[str, BackupSource] = {}


def register_backup_source(source: BackupSource) -> None:
    _sources[source.name] = source


def backup_sources() -> list[BackupSource]:
    return list(_sources.values())


def paths_to_back_up(host: MailHost) -> list[str]:
    paths = {str(path) for source in _sources.values() for path in source.paths(host) if Path(path).exists()}
    return sorted(paths)


def mail_paths(host: MailHost) -> list[Path]:
    return [host.mail_root.resolve()]
