"""The mail accounts' part of a mail host's configuration: Postfix maps, Dovecot users, Sieve, OpenDKIM.

`render_mail_accounts(host)` reads the host's verified domains with their mailboxes, aliases and
autoresponders (a handful of queries, whatever the size), and returns the files by path relative to the
host's `config_dir`. The output depends only on the data: keys are sorted and nothing carries a time stamp,
so rendering twice gives the same bytes and only real changes are written. Registered with the mail-host
machinery as the "mailaccounts" renderer (see apps.py). OpenDKIM's files, made from the domains' active DKIM
keys alone, are a renderer of their own ("opendkim", `render_opendkim_scoped`), which a large host renders in
a child process beside this one (`mailhosts.rendering.render_host`).

Its scope is a domain: every file it writes belongs to one domain, so a change costs what its domain holds,
not what the host holds (`render_mail_accounts_scoped`). Dovecot's users are one passwd-file per domain
(`dovecot/users.d/<domain>`), kept as rows of the one table Dovecot reads (`dovecot/users.sqlite`); Postfix's
maps and OpenDKIM's tables are assembled from one part per domain (`postfix/<map>.d/<domain>`); Sieve
scripts live in a folder per domain; a domain's DKIM key is one file named by the domain (a domain signs
with one key per algorithm), in one folder for the host, so a host of 10,000 domains has no folder per key.

Capabilities above this one may add logins that may send as a domain's addresses (the relay's credentials)
through `register_sender_logins`.
"""

import base64
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db.models import Q, QuerySet

from mailhosts.forking import Beside, worth_forking
from mailhosts.models import MailHost
from mailhosts.rendering import (
    MODE_AUTH,
    MODE_SECRET,
    Assembled,
    HostConfig,
    RenderedFile,
    UserLines,
    is_password_hash,
    is_safe_address,
    is_safe_token,
)

from .crypto import decrypt_private_key
from .models import Alias, Autoresponder, DkimKey, Domain, Mailbox
from .sieve import render_autoresponder

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Files and folders the renderer owns under config_dir; anything else there is left alone.
MANAGED_DIRS = ("postfix", "dovecot", "sieve")
HASH_MAPS = (
    "postfix/virtual_mailbox_domains",
    "postfix/virtual_mailbox_maps",
    "postfix/virtual_alias_maps",
    "postfix/sender_login_maps",
    "postfix/recipient_access",
)
USERS_DIR = "dovecot/users.d"
USERS_DATABASE = "dovecot/users.sqlite"
DKIM_KEYS = "domainkeys"  # <directory>/domainkeys/<domain>: the domain's signing key of that directory
DKIM_DIRS = ("opendkim", "opendkim/ed25519")  # RSA keys, Ed25519 keys (two OpenDKIMs, see render_opendkim)
DKIM_TABLES = tuple(
    f"{directory}/{table}" for directory in DKIM_DIRS for table in ("KeyTable", "SigningTable")
)
ASSEMBLED = {path: Assembled(f"{path}.d") for path in HASH_MAPS}
# Where each domain's files are: `<root>/<domain>` (a file, or a folder for Sieve scripts).
SCOPED_ROOTS = (*(how.parts for how in ASSEMBLED.values()), USERS_DIR, "sieve")
# The same for OpenDKIM's files (the "opendkim" renderer).
DKIM_MANAGED_DIRS = ("opendkim",)
DKIM_ASSEMBLED = {path: Assembled(f"{path}.d") for path in DKIM_TABLES}
DKIM_SCOPED_ROOTS = (
    *(how.parts for how in DKIM_ASSEMBLED.values()),
    *(f"{directory}/{DKIM_KEYS}" for directory in DKIM_DIRS),
)
DISABLED_REPLY = "550 5.2.1 This mailbox is disabled"

# Sources of further logins allowed to send as a domain's addresses: each is called with the rendered
# domains (a query, to filter by in the database: a whole host's 10,000 ids as parameters took 0.1 s) and
# their names by id, and yields (login, [domain names]) pairs. The relay registers its credentials here.
SenderLoginSource = Callable[[QuerySet[Domain], dict[int, str]], Iterable[tuple[str, list[str]]]]
_sender_login_sources: list[SenderLoginSource] = []


def register_sender_logins(source: SenderLoginSource) -> None:
    if source not in _sender_login_sources:
        _sender_login_sources.append(source)


class MailboxRow:
    """One mailbox as the renderer needs it; `address` and `folder` are computed once."""

    __slots__ = (
        "id",
        "domain",
        "local_part",
        "password_hash",
        "is_enabled",
        "quota_bytes",
        "forward_keep_copy",
        "forward_to",
        "deleted",
        "address",
        "folder",
    )

    def __init__(self, id, domain, local_part, password_hash="", is_enabled=False, quota_bytes=0, keep=True):
        self.id, self.domain, self.local_part = id, domain, local_part
        self.password_hash, self.is_enabled, self.quota_bytes = password_hash, is_enabled, quota_bytes
        self.forward_keep_copy, self.forward_to, self.deleted = keep, [], False
        self.address = f"{local_part}@{domain}"
        self.folder = f"{domain}/{local_part}"


@dataclass(frozen=True)
class DkimKeyRow:
    """An active DKIM key as the renderer needs it (read as plain rows: a host has thousands)."""

    domain_name: str
    selector: str
    algorithm: str
    private_key_encrypted: str

    def __str__(self):
        return f"{self.selector}._domainkey.{self.domain_name}"


@dataclass
class HostData:
    """The rows of one host, read with a fixed number of queries."""

    domains: dict[int, dict]
    mailboxes: list[MailboxRow]
    aliases: list[tuple[str, str, list]]
    autoresponders: list[Autoresponder]
    sender_logins: list[tuple[str, list[str]]]  # (login, [domain names]) from registered sources
    # Rendering some domains only: mailboxes of other domains that these domains' routing names
    # (catch-all, postmaster@, abuse@ targets by id; alias destinations by address, when not deleted).
    outside_targets: dict[int, MailboxRow] = dataclass_field(default_factory=dict)
    outside_addresses: set[str] = dataclass_field(default_factory=set)

    @property
    def mailbox_by_id(self) -> dict[int, MailboxRow]:
        return {**self.outside_targets, **{box.id: box for box in self.mailboxes}}


def load_host_data(host: MailHost, scopes: frozenset[str] | None = None) -> HostData:
    """The rows of the host's served domains, or of those among them named in `scopes`."""
    served = Domain.objects.filter(mailhost=host).served()
    if scopes is not None:
        served = served.filter(name__in=scopes)
    domains = {
        row["id"]: row
        for row in served.values("id", "name", "catch_all_to_id", "postmaster_to_id", "abuse_to_id")
    }
    names = {pk: row["name"] for pk, row in domains.items()}
    of_host = Mailbox.objects.filter(domain__in=served).order_by()
    columns = [
        "id",
        "domain_id",
        "local_part",
        "password_hash",
        "is_enabled",
        "quota_bytes",
        "forward_keep_copy",
    ]
    rows = of_host.filter(deleted_at__isnull=True).values_list(*columns)
    # One result, not a server-side cursor: the rendering holds every row anyway, and a cursor (planned for its
    # first rows, and fetched in chunks) took 0.14 s instead of 0.11 s for 100,000 mailboxes.
    mailboxes = [MailboxRow(pk, names[domain_id], *rest) for pk, domain_id, *rest in rows]
    forwards = dict(
        of_host.filter(deleted_at__isnull=True).exclude(forward_to=[]).values_list("id", "forward_to")
    )
    for box in mailboxes:
        if box.id in forwards:
            box.forward_to = forwards[box.id] or []
    for pk, domain_id, local in of_host.filter(deleted_at__isnull=False).values_list(
        "id", "domain_id", "local_part"
    ):
        deleted = MailboxRow(pk, names[domain_id], local)
        deleted.deleted = True
        mailboxes.append(deleted)
    unsafe = [box.address for box in mailboxes if not is_safe_address(box.address)]
    if unsafe:
        logger.warning(
            "left out %d mailboxes whose address cannot be written safely: %s", len(unsafe), unsafe[:5]
        )
        mailboxes = [box for box in mailboxes if is_safe_address(box.address)]
    aliases = [
        (names[domain_id], local, destinations or [])
        for domain_id, local, destinations in Alias.objects.filter(domain__in=served, is_enabled=True)
        .order_by()
        .values_list("domain_id", "local_part", "destinations")
    ]
    autoresponders = list(
        Autoresponder.objects.filter(
            mailbox__domain__in=served,
            is_enabled=True,
            mailbox__is_enabled=True,
            mailbox__deleted_at__isnull=True,
        )
        .select_related("mailbox__domain")
        .order_by("pk")  # the same scripts in the same order, render after render
    )
    sender_logins = [login for source in _sender_login_sources for login in source(served, names)]
    data = HostData(domains, mailboxes, aliases, autoresponders, sender_logins)
    if scopes is not None:
        load_outside_targets(host, data)
    return data


def load_outside_targets(host: MailHost, data: HostData) -> None:
    """For a rendering of some domains: the mailboxes of other domains their routing points at."""
    inside = {box.id for box in data.mailboxes}
    ids = {
        row[name]
        for row in data.domains.values()
        for name in ("catch_all_to_id", "postmaster_to_id", "abuse_to_id")
        if row[name] and row[name] not in inside
    }
    for pk, domain, local, deleted_at in Mailbox.objects.filter(pk__in=ids).values_list(
        "id", "domain__name", "local_part", "deleted_at"
    ):
        data.outside_targets[pk] = MailboxRow(pk, domain, local)
        data.outside_targets[pk].deleted = deleted_at is not None
    in_scope = {row["name"] for row in data.domains.values()}
    wanted: dict[str, set[str]] = defaultdict(set)
    for _domain, _local, destinations in data.aliases:
        for destination in destinations:
            local, _at, domain = destination.rpartition("@")
            if local and domain not in in_scope:
                wanted[domain].add(local)
    if not wanted:
        return
    found = Mailbox.objects.filter(
        domain__in=Domain.objects.filter(mailhost=host, name__in=list(wanted)).served(),
        local_part__in={local for locals_ in wanted.values() for local in locals_},
        deleted_at__isnull=True,
    ).values_list("local_part", "domain__name")
    data.outside_addresses = {f"{local}@{domain}" for local, domain in found if local in wanted[domain]}


def related_domains(host: MailHost, scopes: frozenset[str]) -> set[str]:
    """Domains whose files name these domains' mailboxes: an alias (its sender logins) or the catch-all,
    postmaster@ or abuse@ of a domain of the same customer (the only ones allowed to point at them)."""
    customers = Domain.objects.filter(mailhost=host, name__in=scopes).values("customer_id")
    ends = tuple(f"@{name}" for name in scopes)
    related = {
        name
        for name, destinations in Alias.objects.filter(customer_id__in=customers, domain__mailhost=host)
        .exclude(domain__name__in=scopes)
        .values_list("domain__name", "destinations")
        if any(str(d).endswith(ends) for d in destinations or [])
    }
    routed = Domain.objects.filter(customer_id__in=customers, mailhost=host).exclude(name__in=scopes)
    related |= set(
        routed.filter(
            Q(catch_all_to__domain__name__in=scopes)
            | Q(postmaster_to__domain__name__in=scopes)
            | Q(abuse_to__domain__name__in=scopes)
        ).values_list("name", flat=True)
    )
    return related


def mailbox_count(host: MailHost, enough: int) -> int:
    """How many mailboxes a whole rendering of the host reads, counted up to `enough` (`Renderer.rows`: 8 ms
    at 100,000 mailboxes where counting them all took 30–45 ms)."""
    return Mailbox.objects.filter(domain__mailhost=host).order_by().values("pk")[:enough].count()


def render_mail_accounts(host: MailHost) -> HostConfig:
    """The whole host's files of the mail accounts' renderer, every one of them made."""
    return render_mail_accounts_scoped(host, None).finish()


def render_mail_accounts_whole(host: MailHost) -> HostConfig:
    """The renderer's whole rendering: the host's files, its routing maps' parts still pending."""
    return render_mail_accounts_scoped(host, None)


def render_mail_accounts_scoped(host: MailHost, scopes: frozenset[str] | None) -> HostConfig:
    """The files of the host's domains (all, or those named in `scopes`), each below its scoped root. The
    alias and sender-login maps' parts are pending (`HostConfig.finish`): a whole large host's are rendered
    in a child process beside the rest (`Beside`), while this process renders the other files and
    `render_host` the other renderers'."""
    if scopes is not None and not scopes:
        return HostConfig()  # a change of some users' logins only (`render_users`)
    data = load_host_data(host, scopes)
    config = HostConfig()
    routing = Beside(routing_parts, data, fork=scopes is None and worth_forking(len(data.mailboxes)))
    try:
        before, after = mailbox_parts(data)
        dovecot = render_dovecot(data, host)
        sieve = render_sieve(data)
    except BaseException:
        routing.stop()
        raise
    config.pending.append((routing, as_map_files))
    config.files.update(as_map_files(before | after))
    config.files.update(dovecot)
    config.files.update(sieve)
    config.known_folders = {box.folder for box in data.mailboxes}
    config.mail_folders = {box.folder for box in data.mailboxes if not box.deleted}
    return config


def domain_parts(data: HostData, root: str, entries: dict, render: Callable[[dict], T]) -> dict[str, T]:
    """`entries` keyed by address (or domain) split into one file per domain below `root`; only the
    rendered domains get one (a key of another domain would be outside what this rendering owns)."""
    rendered = {row["name"] for row in data.domains.values()}
    by_domain: dict[str, dict] = defaultdict(dict)
    for key, value in entries.items():
        domain = key.rpartition("@")[2]
        if domain in rendered:
            by_domain[domain][key] = value
    return {f"{root}/{domain}": render(part) for domain, part in by_domain.items()}


def map_text(entries: dict[str, list[str]] | dict[str, str]) -> bytes:
    """A Postfix lookup table source: `key value` lines, sorted by key."""
    lines = []
    for key in sorted(entries):
        value = entries[key]
        lines.append(f"{key} {value if isinstance(value, str) else ','.join(value)}\n")
    return "".join(lines).encode()


def add_unique(values: list[str], *new: str) -> None:
    for value in new:
        if value not in values:
            values.append(value)


# --- Postfix -------------------------------------------------------------------------------------------


def routing_parts(data: HostData) -> dict[str, bytes]:
    """The parts of the alias and sender-login maps, most of the maps' work: what a child process renders
    beside the rest on a large host (`Beside`), handed back as contents only (a few strings to pickle
    instead of 30,000 objects)."""
    mailboxes = [box for box in data.mailboxes if not box.deleted]
    aliases = virtual_aliases(data, mailboxes)
    maps = {
        "postfix/virtual_alias_maps": aliases,
        "postfix/sender_login_maps": sender_logins(data, mailboxes, aliases),
    }
    return map_parts(data, maps)


def as_map_files(parts: dict[str, bytes]) -> dict[str, RenderedFile]:
    return {path: RenderedFile(content) for path, content in parts.items()}


def mailbox_parts(data: HostData) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The parts of the maps of domains, mailboxes and refused recipients (the hash maps Postfix reads, see
    deploy/postfix/main.cf, with `routing_parts`): those that come before the routing maps and those after
    (the maps' order). A disabled mailbox is refused at RCPT time through `recipient_access` ("550 5.2.1")."""
    mailboxes = [box for box in data.mailboxes if not box.deleted]
    domains = {row["name"] for row in data.domains.values() if is_safe_token(row["name"])}
    before = {
        "postfix/virtual_mailbox_domains": dict.fromkeys(domains, "OK"),
        "postfix/virtual_mailbox_maps": {
            box.address: f"{box.folder}/" for box in mailboxes if box.is_enabled
        },
    }
    after = {
        "postfix/recipient_access": {box.address: DISABLED_REPLY for box in mailboxes if not box.is_enabled},
    }
    return map_parts(data, before), map_parts(data, after)


def map_parts(data: HostData, maps: dict[str, dict]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path, entries in maps.items():
        files.update(domain_parts(data, ASSEMBLED[path].parts, entries, map_text))
    return files


def virtual_aliases(data: HostData, mailboxes: list[MailboxRow]) -> dict[str, list[str]]:
    """Address → destinations: aliases, forwards, postmaster@/abuse@ and the catch-all.

    In a domain with a catch-all (`@domain`), every mailbox maps to itself, so that the catch-all never
    swallows its mail (Postfix looks up the whole address first); a disabled mailbox keeps that entry and so
    is rejected rather than caught. Elsewhere a mailbox has an entry only for its forwards: the mailbox map
    lists it, and an entry of its own would make a host's alias map one line per mailbox (at 100,000
    mailboxes in 10,900 domains, 143,000 lines instead of 64,000).
    """
    entries: dict[str, list[str]] = defaultdict(list)
    left_out: list[str] = []
    by_id = data.mailbox_by_id
    caught = {
        row["name"]
        for row in data.domains.values()
        if (target := by_id.get(row["catch_all_to_id"])) is not None and not target.deleted
    }
    for box in mailboxes:
        if not (box.forward_to and box.is_enabled):
            if box.domain in caught:
                entries[box.address] = [box.address]
            continue
        forwards = [a for a in box.forward_to if is_safe_address(a)]
        if len(forwards) < len(box.forward_to):
            left_out.append(box.address)
        keep = box.forward_keep_copy or not forwards
        add_unique(entries[box.address], *([box.address] if keep else []), *forwards)
    for domain, local, destinations in data.aliases:
        address = f"{local}@{domain}"
        targets = [d for d in destinations if is_safe_address(d)]
        if len(targets) < len(destinations):
            left_out.append(address)
        if is_safe_address(address) and targets:
            add_unique(entries[address], *targets)
    if left_out:
        # rows stored before the address rule; the panel shows them as not applied (undeliverable_addresses)
        logger.warning(
            "left out destinations the mail host cannot take, of %d forwards and aliases: %s",
            len(left_out),
            left_out[:5],
        )
    own = {box.address for box in mailboxes}
    for row in data.domains.values():
        for local, target_field in (("postmaster", "postmaster_to_id"), ("abuse", "abuse_to_id")):
            target = by_id.get(row[target_field])
            address = f"{local}@{row['name']}"
            if target and not target.deleted and address not in entries and address not in own:
                entries[address] = [target.address]
        catch_all = by_id.get(row["catch_all_to_id"])
        if catch_all and not catch_all.deleted and is_safe_token(row["name"]):
            entries[f"@{row['name']}"] = [catch_all.address]
    return {key: value for key, value in entries.items() if value}


def sender_logins(
    data: HostData, mailboxes: list[MailboxRow], aliases: dict[str, list[str]]
) -> dict[str, list[str]]:
    """Address → the logins that may use it as sender.

    A mailbox owns its own address and every alias (and postmaster@/abuse@) that delivers to it; a relay
    credential owns every address of its domains (`@domain` plus each listed address, since Postfix stops
    at the first key that matches).
    """
    owners: dict[str, list[str]] = defaultdict(list, {box.address: [box.address] for box in mailboxes})
    local_addresses = set(owners) | data.outside_addresses
    for address, destinations in aliases.items():
        if address.startswith("@") or destinations == [address]:
            continue
        add_unique(owners[address], *(d for d in destinations if d in local_addresses))
    # the addresses of the domains that relay credentials send for (a few of the host's)
    relayed = {domain for _username, domains in data.sender_logins for domain in domains}
    by_domain: dict[str, list[str]] = defaultdict(list)
    for address in owners if relayed else ():
        domain = address.rpartition("@")[2]
        if domain in relayed:
            by_domain[domain].append(address)
    for username, domains in data.sender_logins:
        if not is_safe_token(username.replace("@", "")):
            continue
        for domain in domains:
            for address in [f"@{domain}", *by_domain[domain]]:
                add_unique(owners[address], username)
    return {key: value for key, value in owners.items() if value}


# --- Dovecot -------------------------------------------------------------------------------------------


def render_dovecot(data: HostData, host: MailHost) -> dict[str, RenderedFile]:
    """`dovecot/users.d/<domain>`, the passdb and userdb of mailboxes, which Dovecot reads as the one SQLite
    table the apply keeps equal to them (`dovecot/users.sqlite`, see `RenderedFile.user_table`), so a change
    is live at once.

    Disabled and deleted mailboxes are left out: they cannot log in.
    """
    return domain_parts(data, USERS_DIR, user_lines(data.mailboxes, host), passwd_file)


def user_lines(mailboxes: Iterable[MailboxRow], host: MailHost) -> dict[str, tuple[str, tuple]]:
    """Address → its passwd-file line and that line's row of Dovecot's table (`files.user_table_rows`), for
    the mailboxes that may log in."""
    root = str(host.mail_root)
    uid, gid = int(settings.MAIL_UID), int(settings.MAIL_GID)
    ids = f"{uid}:{gid}"
    users = {}
    for box in mailboxes:
        if box.deleted or not box.is_enabled:
            continue
        if not is_password_hash(box.password_hash):
            logger.warning("mailbox %s has no usable password hash; left out", box.address)
            continue
        quota = f"*:storage={int(box.quota_bytes)}B"
        home = f"{root}/{box.folder}"
        users[box.address] = (
            f"{box.address}:{box.password_hash}:{ids}::{home}::userdb_quota_rule={quota}\n",
            (box.address, box.password_hash, uid, gid, home, quota),
        )
    return users


def passwd_file(part: dict[str, tuple[str, tuple]]) -> RenderedFile:
    """A domain's passwd-file from its lines (and their rows) by address."""
    entries = [part[address] for address in sorted(part)]
    return RenderedFile(
        "".join([line for line, _row in entries]).encode(),
        MODE_AUTH,
        group=settings.MAILHOST_AUTH_GROUP,
        user_table=True,
        user_database=USERS_DATABASE,
        user_rows=tuple([row for _line, row in entries]),
    )


def render_users(host: MailHost, users: frozenset[str]) -> dict[str, UserLines]:
    """The passwd-file lines of some mailboxes (by address), by their domain's passwd-file: a change
    that touches only a mailbox's login (password, quota) renders that mailbox, not its domain. A mailbox
    that cannot log in (disabled, deleted, gone, on a domain not served here) has no line."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for address in users:
        local, _at, domain = address.rpartition("@")
        wanted[domain].add(local)
    served = Domain.objects.filter(mailhost=host, name__in=list(wanted)).served()
    rows = Mailbox.objects.filter(
        domain__in=served, local_part__in={local for locals_ in wanted.values() for local in locals_}
    ).values_list(
        "id", "domain__name", "local_part", "password_hash", "is_enabled", "quota_bytes", "deleted_at"
    )
    boxes = []
    for pk, domain, local, password_hash, is_enabled, quota_bytes, deleted_at in rows:
        box = MailboxRow(pk, domain, local, password_hash, is_enabled, quota_bytes)
        box.deleted = deleted_at is not None
        if box.address in users:
            boxes.append(box)
    lines = user_lines(boxes, host)
    return {
        f"{USERS_DIR}/{domain}": UserLines(
            passwd_file({a: line for a, line in lines.items() if a.rpartition("@")[2] == domain}),
            frozenset(f"{local}@{domain}" for local in locals_),
        )
        for domain, locals_ in wanted.items()
    }


# --- Sieve ---------------------------------------------------------------------------------------------


def render_sieve(data: HostData) -> dict[str, RenderedFile]:
    """One script per enabled autoresponder: `sieve/<domain>/<local part>.sieve` (see dovecot.conf)."""
    if not data.autoresponders:
        return {}
    files = {}
    for autoresponder in data.autoresponders:
        box = autoresponder.mailbox
        if is_safe_address(box.address) and box.local_part not in {".", ".."}:
            script = render_autoresponder(autoresponder)
            files[f"sieve/{box.domain.name}/{box.local_part}.sieve"] = RenderedFile(script.encode("utf-8"))
    return files


# --- OpenDKIM ------------------------------------------------------------------------------------------


def render_opendkim_whole(host: MailHost) -> HostConfig:
    return render_opendkim_scoped(host, None)


def render_opendkim_scoped(host: MailHost, scopes: frozenset[str] | None) -> HostConfig:
    """OpenDKIM's files of the host's served domains (all, or those named in `scopes`), each below its
    scoped root (`DKIM_SCOPED_ROOTS`): read from the domains' active keys alone (two queries)."""
    if scopes is not None and not scopes:
        return HostConfig()  # a change of some users' logins only
    served = Domain.objects.filter(mailhost=host).served()
    if scopes is not None:
        served = served.filter(name__in=scopes)
    keys = [
        DkimKeyRow(*row)
        for row in DkimKey.objects.filter(domain__in=served, state=DkimKey.State.ACTIVE)
        # newest first within each domain and algorithm: render_opendkim keeps the first of each
        .order_by("domain__name", "-algorithm", "-activated_at", "-created_at")
        .values_list("domain__name", "selector", "algorithm", "private_key_encrypted")
    ]
    return HostConfig(files=render_opendkim(keys, set(served.values_list("name", flat=True)), host))


def render_opendkim(keys: list[DkimKeyRow], rendered: set[str], host: MailHost) -> dict[str, RenderedFile]:
    """Key and signing tables plus one private key file (0600) per signing key of the `rendered` domains,
    for two OpenDKIMs.

    A domain signs with its newest active key of each algorithm. OpenDKIM 2.11 has one signature algorithm
    per instance, so RSA keys go to `opendkim/` and Ed25519 keys to `opendkim/ed25519/`, read by a second
    OpenDKIM (deploy/opendkim/opendkim-ed25519.conf) that adds its signature after the first.
    """
    files = {}
    signing = set()
    config_dir = Path(host.config_dir)
    for key in keys:  # newest active key first, per domain
        domain = key.domain_name
        if (domain, key.algorithm) in signing or not (is_safe_token(domain) and is_safe_token(key.selector)):
            continue
        if domain not in rendered:
            continue
        signing.add((domain, key.algorithm))
        directory = "opendkim/ed25519" if key.algorithm == DkimKey.Algorithm.ED25519 else "opendkim"
        name = f"{key.selector}._domainkey.{domain}"
        key_path = f"{directory}/{DKIM_KEYS}/{domain}"
        files[key_path] = RenderedFile(
            opendkim_key_file(key, decrypt_private_key(key)), MODE_SECRET, settings.MAILHOST_DKIM_KEY_OWNER
        )
        key_line = f"{name} {domain}:{key.selector}:{config_dir}/{key_path}\n"
        files[f"{directory}/KeyTable.d/{domain}"] = RenderedFile(key_line.encode())
        files[f"{directory}/SigningTable.d/{domain}"] = RenderedFile(f"*@{domain} {name}\n".encode())
    return files


def opendkim_key_file(key: DkimKeyRow, private_key: bytes) -> bytes:
    """The key as OpenDKIM loads it: PEM. dkimpy stores an Ed25519 key as its base64 seed, which
    OpenDKIM cannot read, so that one is written as PKCS#8 PEM."""
    if key.algorithm != DkimKey.Algorithm.ED25519 or private_key.lstrip().startswith(b"-----"):
        return private_key
    seed = base64.b64decode(private_key.strip())
    return Ed25519PrivateKey.from_private_bytes(seed).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
