"""What an apply writes, and the registry of the capabilities that render it.

Each capability (mail accounts, the relay, later the spam filter, backups, calendars, webmail) registers a
`Renderer` in its `AppConfig.ready`. `render_host(host)` asks every registered renderer for its part of the
host's configuration and merges them; the apply (`mailhosts.apply`) writes the result without knowing which
capability wrote which file. Two renderers may not write the same path.

Values typed by customers end up in line-oriented files; `is_safe_token` and `is_safe_address` keep anything
that could start a new line or field (whitespace, commas, colons, control characters) out of them.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import MailHost

MODE_PUBLIC = 0o644
MODE_SECRET = 0o600
MODE_AUTH = 0o640

UNSAFE_CHARACTERS = r"\s,:;\"'\\/<>()\[\]\x00-\x1f\x7f"
UNSAFE = re.compile(f"[{UNSAFE_CHARACTERS}]")
HASH_UNSAFE = re.compile(r"[\s:\x00-\x1f]")
SAFE_ADDRESS = re.compile(f"([^{UNSAFE_CHARACTERS}@]+)@([^{UNSAFE_CHARACTERS}@]+)")


def is_safe_token(value: str) -> bool:
    """True for a domain, local part or login that can be written as one field of a map line."""
    return bool(value) and value not in {".", ".."} and not UNSAFE.search(value)


def is_safe_address(address: str) -> bool:
    match = SAFE_ADDRESS.fullmatch(address)
    return match is not None and match[1] not in {".", ".."} and match[2] not in {".", ".."}


def is_password_hash(value: str) -> bool:
    """A `{SCHEME}hash` string that fits in one passwd-file field."""
    return value.startswith("{") and "}" in value and not HASH_UNSAFE.search(value)


@dataclass(frozen=True)
class RenderedFile:
    content: bytes
    mode: int = MODE_PUBLIC
    owner: str = ""  # a user name to give the file to (when the apply runs as root), e.g. "opendkim"
    group: str = ""  # a group to give the file to, e.g. "dovecot" for the passwd-files (mode 0640)
    # Dovecot notices a changed passwd-file by its mtime in whole seconds (and size): such a file gets an
    # mtime at least a second past the one it replaces, or a same-length change within a second is missed.
    bump_mtime: bool = False
    # A passwd-file that Dovecot reads through its SQL driver instead: the apply keeps `<path>.sqlite` (table
    # `users`) equal to it, changing only the rows of lines that changed, in place. Dovecot reads that table
    # on every lookup, so a change is seen the moment it commits (no once-a-second check of a file).
    user_table: bool = False


@dataclass
class HostConfig:
    """Everything one apply writes: files by relative path, and the mailbox folders that should exist."""

    files: dict[str, RenderedFile] = field(default_factory=dict)
    mail_folders: set[str] = field(default_factory=set)  # "domain/local" of mailboxes not deleted
    known_folders: set[str] = field(default_factory=set)  # ... plus deleted ones still kept


@dataclass(frozen=True)
class Renderer:
    """One capability's part of a host's configuration.

    `managed_dirs` are the folders below the host's `config_dir` it owns (files there that it no longer
    renders are removed); `hash_maps` are the Postfix `hash:` maps among its files (`postmap` after a change).
    """

    name: str
    render: Callable[["MailHost"], HostConfig]
    managed_dirs: tuple[str, ...] = ()
    hash_maps: tuple[str, ...] = ()


_renderers: dict[str, Renderer] = {}


def register_renderer(renderer: Renderer) -> None:
    _renderers[renderer.name] = renderer


def registered_renderers() -> list[Renderer]:
    return list(_renderers.values())


def managed_dirs() -> tuple[str, ...]:
    return tuple(sorted({d for renderer in _renderers.values() for d in renderer.managed_dirs}))


def hash_maps() -> tuple[str, ...]:
    return tuple(m for renderer in _renderers.values() for m in renderer.hash_maps)


def render_host(host: "MailHost") -> HostConfig:
    """The host's complete configuration: every registered renderer's part, merged."""
    config = HostConfig()
    for renderer in _renderers.values():
        part = renderer.render(host)
        overlap = config.files.keys() & part.files.keys()
        if overlap:
            raise ValueError(
                f"renderer {renderer.name!r} writes files another renderer wrote: {sorted(overlap)}"
            )
        config.files.update(part.files)
        config.mail_folders |= part.mail_folders
        config.known_folders |= part.known_folders
    return config
