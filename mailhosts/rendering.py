"""What an apply writes, and the registry of the capabilities that render it.

Each capability (mail accounts, the relay, later the spam filter, backups, calendars, webmail) registers a
`Renderer` in its `AppConfig.ready`. `render_host(host)` asks every registered renderer for its part of the
host's configuration and merges them; the apply (`mailhosts.apply`) writes the result without knowing which
capability wrote which file. Two renderers may not write the same path.

A renderer may also render only part of a host: the files of some *scopes* (the mail accounts' scope is a
domain). Such a renderer writes each scope's files at `<scoped root>/<scope>` (a file or a folder) for each of
its `scoped_roots`, so the apply knows which files one scope owns; files a program needs whole (a Postfix map,
OpenDKIM's KeyTable) are `assembled` from a folder of parts, one per scope; passwd-files whose lines are rows
of one SQLite table Dovecot reads are kept in a folder of `user_tables`. Renderers without scopes render
their (small) part whole on every apply.

A renderer may hand back files it still has being made beside, in a forked child on a large host
(`HostConfig.pending`, see `mailhosts.forking.Beside`): `render_host` asks the other renderers meanwhile and
takes those files in after them (`HostConfig.finish`).

A change that touches only some users' rows of the user tables (a password, a quota) names a *user scope*:
the user's address instead of its domain. Then only those users' lines are rendered (`render_users`) and
put into their domain's passwd-file, so such a change costs one mailbox, not its domain, and no other file is
rendered for it.

Values typed by customers end up in line-oriented files; `is_safe_token` and `is_safe_address` keep anything
that could start a new line or field (whitespace, commas, colons, control characters) out of them.
"""

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

from .forking import Beside, forks_with_database, worth_forking

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
class UserTable:
    """How the lines of the passwd-files of a user table are rows of its SQLite table `users`, which Dovecot's
    SQL driver reads on every lookup (so a change is seen the moment it commits, unlike a passwd-file, whose
    changes Dovecot notices once a second at most). A line `user:password:uid:gid:gecos:home:shell:extra`
    gives the `username` and, by position, the `fields` (column, index of the line's field, SQL type; every
    one NOT NULL); its extra fields `name=value` give the `extra` columns by name (NULL where absent: Dovecot
    returns no field for a NULL)."""

    fields: tuple[tuple[str, int, str], ...] = ()
    extra: tuple[tuple[str, str], ...] = ()  # (extra field name, column)

    @property
    def schema(self) -> str:
        declared = [f"{column} {kind} NOT NULL" for column, _index, kind in self.fields]
        declared += [f"{column} TEXT" for _name, column in self.extra]
        return f"CREATE TABLE IF NOT EXISTS users (username TEXT PRIMARY KEY, {', '.join(declared)}) WITHOUT ROWID"

    @functools.cached_property
    def _extra_positions(self) -> dict[str, int]:
        return {name: position for position, (name, _column) in enumerate(self.extra)}

    def row(self, line: bytes) -> tuple:
        """The row of one passwd-file line (a ValueError for a line without its eight fields, or with an extra
        field the table has no column for)."""
        parts = line.decode().split(":", 7)
        if len(parts) == 7:  # no extra fields
            parts.append("")
        if len(parts) != 8:
            raise ValueError(f"not a passwd-file line: {line[:80]!r}")
        values: list = [parts[0]]
        for _column, index, kind in self.fields:
            values.append(int(parts[index]) if kind == "INTEGER" else parts[index])
        extra: list[str | None] = [None] * len(self.extra)
        positions = self._extra_positions
        for field_ in parts[7].split():
            name, _, value = field_.partition("=")
            if name not in positions:
                raise ValueError(f"no column for the passwd-file field {name!r}")
            extra[positions[name]] = value
        return (*values, *extra)


# The mailboxes' table (mail accounts' `dovecot/users.sqlite`, deploy/dovecot/dovecot-sql.conf.ext).
MAILBOX_USERS = UserTable(
    fields=(("password", 1, "TEXT"), ("uid", 2, "INTEGER"), ("gid", 3, "INTEGER"), ("home", 5, "TEXT")),
    extra=(("userdb_quota_rule", "quota_rule"),),
)


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
    # ... or, for the passwd-files of a renderer's `user_tables` folder, the one table (path below config_dir)
    # that all the folder's files share, each file owning the rows of its own lines.
    user_database: str = ""
    # The table's rows of this passwd-file's lines, in its order, as `mailhosts.files.user_table_rows` reads
    # them back, when the renderer has them at hand: a passwd-file new to its table (every one on a host's
    # first apply) is written from these instead of its 100,000 lines being parsed back. Not compared.
    user_rows: tuple[tuple, ...] | None = field(default=None, compare=False, repr=False)


@dataclass
class HostConfig:
    """Everything one apply writes: files by relative path, and the mailbox folders that should exist.

    `scopes` is None for the whole host, else the scopes this (partial) configuration covers: then the
    files under their scoped roots are complete for them, and mail folders are those of these scopes.
    """

    files: dict[str, RenderedFile] = field(default_factory=dict)
    mail_folders: set[str] = field(default_factory=set)  # "domain/local" of mailboxes not deleted
    known_folders: set[str] = field(default_factory=set)  # ... plus deleted ones still kept
    scopes: frozenset[str] | None = None
    # A whole rendering's parts of the assembled files, grouped once (`parts_by_folder`) for their indexes.
    assembled_parts: dict[str, dict[str, bytes]] | None = field(default=None, repr=False)
    # Files a renderer still has being made beside (`Beside`, a forked child on a large host), each with the
    # function that makes its result files: `render_host` asks the other renderers meanwhile, then `finish`es.
    pending: list[tuple[Beside, Callable[[Any], dict[str, "RenderedFile"]]]] = field(
        default_factory=list, repr=False
    )

    def finish(self) -> "HostConfig":
        """Take in the files still being made beside (every one of them is stopped if one fails)."""
        pending, self.pending = self.pending, []
        try:
            for beside, as_files in pending:
                files = as_files(beside.result())
                overlap = self.files.keys() & files.keys()
                if overlap:
                    raise ValueError(f"files made beside were rendered already: {sorted(overlap)}")
                self.files.update(files)
        finally:
            for beside, _as_files in pending:
                beside.stop()
        return self

    def stop_pending(self) -> None:
        """Stop what is still being made beside (the rendering failed)."""
        pending, self.pending = self.pending, []
        for beside, _as_files in pending:
            beside.stop()


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
    # Rendering by scope (see the module's docstring): `render_scoped(host, scopes)` returns the files of
    # those scopes below `scoped_roots` plus the renderer's files outside them, whole.
    render_scoped: Callable[["MailHost", frozenset[str]], HostConfig] | None = None
    scoped_roots: tuple[str, ...] = ()
    assembled: dict[str, "Assembled"] = field(default_factory=dict)  # file -> how it is made of parts
    user_tables: dict[str, str] = field(default_factory=dict)  # folder of passwd-files -> their table
    # How each of its user tables (by path: a shared one above, or a passwd-file's own `<file>.sqlite`) holds
    # the lines; the mailboxes' layout where none is given.
    user_table_layouts: dict[str, UserTable] = field(default_factory=dict)
    # Other scopes whose files depend on these (an alias in one domain naming a mailbox of another).
    related_scopes: Callable[["MailHost", frozenset[str]], set[str]] | None = None
    # User scopes (addresses): the lines of those users in the passwd-files of `user_tables`, by file.
    render_users: Callable[["MailHost", frozenset[str]], dict[str, "UserLines"]] | None = None
    # Whether its whole rendering may run in a child process beside the others' (`render_host`): it only
    # reads the database and returns its files, and keeps nothing in this process that the apply needs.
    beside: bool = False
    # How many rows a whole rendering of the host reads, counted up to the number given (more makes no
    # difference): with the others', what decides whether the renderers marked `beside` render in a child.
    rows: Callable[["MailHost", int], int] | None = None


@dataclass(frozen=True)
class UserLines:
    """Some users' lines of one passwd-file of a shared user table: `file` holds the lines of those among
    `users` that have one (sorted), any other of `users` has none; the file's other lines stay as they are."""

    file: RenderedFile
    users: frozenset[str]


def is_user_scope(scope: str) -> bool:
    """Whether a scope names one user (an address: its domain's part of the user tables) or a domain."""
    return "@" in scope


def with_user_lines(content: bytes, lines: UserLines) -> bytes:
    """A passwd-file's `content` with the lines of `lines.users` replaced by `lines.file`'s, in the order
    a whole rendering writes them (by user). A user's line is found and replaced where it is, so a password
    change does not split the domain's other lines; a user without a line yet has the file put in order."""
    new = {line.split(b":", 1)[0]: line for line in lines.file.content.splitlines(keepends=True)}
    for user in sorted(lines.users):
        key = user.encode()
        start = line_start(content, key)
        if start is not None:
            end = content.find(b"\n", start) + 1 or len(content)
            content = content[:start] + new.pop(key, b"") + content[end:]
    if not new:
        return content
    by_user = {line.split(b":", 1)[0]: line for line in content.splitlines(keepends=True)} | new
    return b"".join(by_user[user] for user in sorted(by_user))


def line_start(content: bytes, user: bytes) -> int | None:
    """Where the passwd-file line of `user` begins in `content`, if it has one."""
    if content.startswith(user + b":"):
        return 0
    found = content.find(b"\n" + user + b":")
    return None if found < 0 else found + 1


@dataclass(frozen=True)
class Assembled:
    """A file made of the parts in folder `parts` (one per scope), in the order of their names."""

    parts: str
    mode: int = MODE_PUBLIC
    bump_mtime: bool = False  # as `RenderedFile.bump_mtime`: a passwd-file Dovecot checks by its mtime


def assemble(parts: dict[str, bytes]) -> bytes:
    """The content of an assembled file from its parts by name."""
    return b"".join(parts[name] for name in sorted(parts))


_renderers: dict[str, Renderer] = {}


def register_renderer(renderer: Renderer) -> None:
    _renderers[renderer.name] = renderer


def registered_renderers() -> list[Renderer]:
    return list(_renderers.values())


def managed_dirs() -> tuple[str, ...]:
    return tuple(sorted({d for renderer in _renderers.values() for d in renderer.managed_dirs}))


def hash_maps() -> tuple[str, ...]:
    return tuple(m for renderer in _renderers.values() for m in renderer.hash_maps)


def scoped_roots() -> tuple[str, ...]:
    return tuple(root for renderer in _renderers.values() for root in renderer.scoped_roots)


def assembled_files() -> dict[str, Assembled]:
    return {path: how for renderer in _renderers.values() for path, how in renderer.assembled.items()}


def stored_folders() -> frozenset[str]:
    """The folders whose files only the apply reads (parts of assembled files, passwd-files of shared user
    tables): kept in the apply's part store (`mailhosts.files.PartStore`), not as files."""
    return frozenset(how.parts for how in assembled_files().values()) | frozenset(user_tables())


def user_tables() -> dict[str, str]:
    return {folder: db for renderer in _renderers.values() for folder, db in renderer.user_tables.items()}


def user_table_databases() -> dict[str, UserTable]:
    """Every user table the renderers keep (path below the config directory) and its layout."""
    databases = {database: user_table_layout(database) for database in user_tables().values()}
    for renderer in _renderers.values():
        databases.update(renderer.user_table_layouts)
    return databases


def user_table_layout(database: str) -> UserTable:
    """How the user table at `database` (a path below the config directory) holds its passwd-files' lines."""
    for renderer in _renderers.values():
        if database in renderer.user_table_layouts:
            return renderer.user_table_layouts[database]
    return MAILBOX_USERS


def with_related_scopes(host: "MailHost", scopes: frozenset[str]) -> frozenset[str]:
    """`scopes` and the scopes whose files depend on them, by every renderer's account."""
    related: set[str] = set()
    for renderer in _renderers.values():
        if renderer.related_scopes is not None and scopes:
            related |= renderer.related_scopes(host, scopes)
    return scopes | frozenset(related)


def render_user_lines(host: "MailHost", users: frozenset[str]) -> dict[str, UserLines]:
    """Every renderer's lines of these users, by passwd-file."""
    lines: dict[str, UserLines] = {}
    for renderer in _renderers.values():
        if renderer.render_users is not None and users:
            lines.update(renderer.render_users(host, users))
    return lines


def render_host(host: "MailHost", scopes: frozenset[str] | None = None) -> HostConfig:
    """The host's configuration: every registered renderer's part, merged. Whole (with the assembled files
    made from their parts), or, given `scopes`, only those scopes of the renderers that have scopes (whose
    assembled files the apply then makes from the parts on disk) and the other renderers whole.

    A large host's whole rendering asks the renderers marked `beside` in a child process with its own
    database connection, started first, so that they render while this process reads and renders the mail
    accounts; their files are taken in after the others', as if they had been asked in turn."""
    config = HostConfig(scopes=scopes)
    here = list(_renderers.values())
    beside: Beside[list[tuple[str, HostConfig]]] | None = None
    if scopes is None and any(renderer.beside for renderer in here) and forks_with_database():
        enough = settings.MAILHOST_FORK_MIN_ROWS
        rows = sum(renderer.rows(host, enough) for renderer in here if renderer.rows is not None)
        if worth_forking(rows):
            names = [renderer.name for renderer in here if renderer.beside]
            beside = Beside(render_whole, host, names, database=True)
            here = [renderer for renderer in here if not renderer.beside]
    try:  # a renderer's files still being made beside (`HostConfig.pending`) are taken in after the others
        for renderer in here:
            if scopes is not None and renderer.render_scoped is not None:
                part = renderer.render_scoped(host, scopes)
            else:
                part = renderer.render(host)
            config.pending += part.pending
            take_in(config, renderer.name, part)
        if beside is not None:
            for name, part in beside.result():
                take_in(config, name, part)
        config.finish()
    except BaseException:
        config.stop_pending()
        if beside is not None:
            beside.stop()
        raise
    if scopes is None:
        by_folder = config.assembled_parts = parts_by_folder(config.files)
        for path, how in assembled_files().items():
            parts = by_folder.get(how.parts, {})
            config.files[path] = RenderedFile(assemble(parts), how.mode, bump_mtime=how.bump_mtime)
    return config


def take_in(config: HostConfig, name: str, part: HostConfig) -> None:
    """Add renderer `name`'s part to `config` (its pending files stay pending)."""
    overlap = config.files.keys() & part.files.keys()
    if overlap:
        raise ValueError(f"renderer {name!r} writes files another renderer wrote: {sorted(overlap)}")
    config.files.update(part.files)
    config.mail_folders |= part.mail_folders
    config.known_folders |= part.known_folders


def render_whole(host: "MailHost", names: list[str]) -> list[tuple[str, HostConfig]]:
    """The whole renderings of the renderers named, each finished (`render_host` runs it in a child)."""
    return [(name, _renderers[name].render(host).finish()) for name in names]


def parts_by_folder(files: dict[str, RenderedFile]) -> dict[str, dict[str, bytes]]:
    """The parts of assembled files among `files`: folder → {part name: content} (one pass over them)."""
    folders = {how.parts for how in assembled_files().values()}
    grouped: dict[str, dict[str, bytes]] = {folder: {} for folder in folders}
    for rel, file in files.items():
        folder, _slash, name = rel.rpartition("/")
        if folder in folders:
            grouped[folder][name] = file.content
    return grouped
