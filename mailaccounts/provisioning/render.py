"""Render a mail host's complete configuration from the database, one renderer per mail program.

`render_host(host)` reads the host's verified domains with their mailboxes, aliases, autoresponders, active
DKIM keys and relay credentials (a handful of queries, whatever the size), and returns every file the host
needs, by path relative to its `config_dir`. The output depends only on the data: keys are sorted and
nothing carries a time stamp, so rendering twice gives the same bytes and only real changes are written.

Values typed by customers end up in line-oriented maps; `is_safe_token` keeps anything that could start
a new line or field (whitespace, commas, colons, control characters) out of them.
"""

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from ..models import Alias, Autoresponder, DkimKey, Domain, Mailbox, MailHost

logger = logging.getLogger(__name__)

# Files and folders the renderer owns under config_dir; anything else there is left alone.
MANAGED_DIRS = ("postfix", "dovecot", "sieve", "opendkim")
HASH_MAPS = (
    "postfix/virtual_mailbox_domains",
    "postfix/virtual_mailbox_maps",
    "postfix/virtual_alias_maps",
    "postfix/sender_login_maps",
    "postfix/recipient_access",
)
DISABLED_REPLY = "550 5.2.1 This mailbox is disabled"
MODE_PUBLIC = 0o644
MODE_SECRET = 0o600
MODE_AUTH = 0o640

UNSAFE = re.compile(r"[\s,:;\"'\\/<>()\[\]\x00-\x1f\x7f]")


def is_safe_token(value: str) -> bool:
    """True for an address or local part that can be written as one field of a map line."""
    return bool(value) and value not in {".", ".."} and not UNSAFE.search(value)


def is_safe_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at) and "@" not in local and is_safe_token(local) and is_safe_token(domain)


@dataclass(frozen=True)
class RenderedFile:
    content: bytes
    mode: int = MODE_PUBLIC
    owner: str = ""  # a user name to give the file to (when the apply runs as root), e.g. "opendkim"
    group: str = ""  # a group to give the file to, e.g. "dovecot" for the passwd-files (mode 0640)
    # Dovecot notices a changed passwd-file by its mtime in whole seconds (and size): such a file gets an
    # mtime at least a second past the one it replaces, or a same-length change within a second is missed.
    bump_mtime: bool = False


@dataclass
class HostConfig:
    """Everything one apply writes: files by relative path, and the mailbox folders that should exist."""

    files: dict[str, RenderedFile] = field(default_factory=dict)
    mail_folders: set[str] = field(default_factory=set)  # "domain/local" of mailboxes not deleted
    known_folders: set[str] = field(default_factory=set)  # ... plus deleted ones still kept


@dataclass
class MailboxRow:
    id: int
    domain: str
    local_part: str
    password_hash: str
    is_enabled: bool
    quota_bytes: int
    forward_to: list
    forward_keep_copy: bool
    deleted: bool

    @property
    def address(self) -> str:
        return f"{self.local_part}@{self.domain}"

    @property
    def folder(self) -> str:
        return f"{self.domain}/{self.local_part}"


@dataclass
class HostData:
    """The rows of one host, read with a fixed number of queries."""

    domains: dict[int, dict]
    mailboxes: list[MailboxRow]
    aliases: list[tuple[str, str, list]]
    autoresponders: list[Autoresponder]
    dkim_keys: list[DkimKey]
    relay_credentials: list[tuple[str, str, list[str]]]

    @property
    def mailbox_by_id(self) -> dict[int, MailboxRow]:
        return {box.id: box for box in self.mailboxes}


def load_host_data(host: MailHost) -> HostData:
    from relay.models import RelayCredential

    domains = {
        row["id"]: row
        for row in Domain.objects.filter(mailhost=host)
        .verified()
        .values("id", "name", "catch_all_to_id", "postmaster_to_id", "abuse_to_id")
    }
    names = {pk: row["name"] for pk, row in domains.items()}
    mailboxes = [
        MailboxRow(
            id=pk,
            domain=names[domain_id],
            local_part=local,
            password_hash=password_hash,
            is_enabled=enabled,
            quota_bytes=quota,
            forward_to=forward_to or [],
            forward_keep_copy=keep,
            deleted=deleted_at is not None,
        )
        for pk, domain_id, local, password_hash, enabled, quota, forward_to, keep, deleted_at in (
            Mailbox.objects.filter(domain_id__in=names)
            .order_by()
            .values_list(
                "id",
                "domain_id",
                "local_part",
                "password_hash",
                "is_enabled",
                "quota_bytes",
                "forward_to",
                "forward_keep_copy",
                "deleted_at",
            )
            .iterator(chunk_size=5000)
        )
    ]
    aliases = [
        (names[domain_id], local, destinations or [])
        for domain_id, local, destinations in Alias.objects.filter(domain_id__in=names, is_enabled=True)
        .order_by()
        .values_list("domain_id", "local_part", "destinations")
    ]
    autoresponders = list(
        Autoresponder.objects.filter(
            mailbox__domain_id__in=names,
            is_enabled=True,
            mailbox__is_enabled=True,
            mailbox__deleted_at__isnull=True,
        ).select_related("mailbox__domain")
    )
    dkim_keys = list(
        DkimKey.objects.filter(domain_id__in=names, state=DkimKey.State.ACTIVE)
        .select_related("domain")
        .order_by("domain__name", "-activated_at", "-created_at")
    )
    credentials: dict[int, tuple[str, str, list[str]]] = {}
    for pk, username, secret_hash, domain_id in (
        RelayCredential.objects.filter(is_enabled=True, domains__in=list(names))
        .order_by()
        .values_list("id", "username", "secret_hash", "domains")
    ):
        credentials.setdefault(pk, (username, secret_hash, []))[2].append(names[domain_id])
    return HostData(domains, mailboxes, aliases, autoresponders, dkim_keys, list(credentials.values()))


def render_host(host: MailHost) -> HostConfig:
    data = load_host_data(host)
    config = HostConfig()
    config.files.update(render_postfix(data))
    config.files.update(render_dovecot(data, host))
    config.files.update(render_sieve(data))
    config.files.update(render_opendkim(data, host))
    usable = [box for box in data.mailboxes if is_safe_address(box.address)]
    config.known_folders = {box.folder for box in usable}
    config.mail_folders = {box.folder for box in usable if not box.deleted}
    return config


def map_file(entries: dict[str, list[str]] | dict[str, str]) -> RenderedFile:
    """A Postfix lookup table source: `key value` lines, sorted by key."""
    lines = []
    for key in sorted(entries):
        value = entries[key]
        lines.append(f"{key} {value if isinstance(value, str) else ','.join(value)}\n")
    return RenderedFile("".join(lines).encode())


def add_unique(values: list[str], *new: str) -> None:
    for value in new:
        if value not in values:
            values.append(value)


# --- Postfix -------------------------------------------------------------------------------------------


def render_postfix(data: HostData) -> dict[str, RenderedFile]:
    """The hash maps Postfix reads (see deploy/postfix/main.cf).

    A disabled mailbox is refused at RCPT time through `recipient_access` ("550 5.2.1").
    """
    mailboxes = [box for box in data.mailboxes if not box.deleted and is_safe_address(box.address)]
    domains = {row["name"] for row in data.domains.values() if is_safe_token(row["name"])}
    aliases = virtual_aliases(data, mailboxes)
    return {
        "postfix/virtual_mailbox_domains": map_file(dict.fromkeys(domains, "OK")),
        "postfix/virtual_mailbox_maps": map_file(
            {box.address: f"{box.folder}/" for box in mailboxes if box.is_enabled}
        ),
        "postfix/virtual_alias_maps": map_file(aliases),
        "postfix/sender_login_maps": map_file(sender_logins(data, mailboxes, aliases)),
        "postfix/recipient_access": map_file(
            {box.address: DISABLED_REPLY for box in mailboxes if not box.is_enabled}
        ),
    }


def virtual_aliases(data: HostData, mailboxes: list[MailboxRow]) -> dict[str, list[str]]:
    """Address → destinations: aliases, forwards, postmaster@/abuse@ and the catch-all.

    Every mailbox maps to itself (or to its forwards), so a domain's catch-all (`@domain`) never swallows
    mail for a mailbox; a disabled mailbox keeps that entry and so is rejected rather than caught.
    """
    entries: dict[str, list[str]] = defaultdict(list)
    for box in mailboxes:
        forwards = [a for a in box.forward_to if is_safe_address(a)] if box.is_enabled else []
        keep = box.forward_keep_copy or not forwards
        add_unique(entries[box.address], *([box.address] if keep else []), *forwards)
    for domain, local, destinations in data.aliases:
        address = f"{local}@{domain}"
        targets = [d for d in destinations if is_safe_address(d)]
        if is_safe_address(address) and targets:
            add_unique(entries[address], *targets)
    by_id = data.mailbox_by_id
    for row in data.domains.values():
        for local, target_field in (("postmaster", "postmaster_to_id"), ("abuse", "abuse_to_id")):
            target = by_id.get(row[target_field])
            address = f"{local}@{row['name']}"
            if target and not target.deleted and address not in entries:
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
    owners: dict[str, list[str]] = defaultdict(list)
    local_addresses = {box.address for box in mailboxes}
    for box in mailboxes:
        owners[box.address].append(box.address)
    for address, destinations in aliases.items():
        if not address.startswith("@"):
            add_unique(owners[address], *(d for d in destinations if d in local_addresses))
    by_domain: dict[str, list[str]] = defaultdict(list)
    for address in owners:
        by_domain[address.rpartition("@")[2]].append(address)
    for username, _secret, domains in data.relay_credentials:
        if not is_safe_token(username.replace("@", "")):
            continue
        for domain in domains:
            for address in [f"@{domain}", *by_domain[domain]]:
                add_unique(owners[address], username)
    return {key: value for key, value in owners.items() if value}


# --- Dovecot -------------------------------------------------------------------------------------------


def render_dovecot(data: HostData, host: MailHost) -> dict[str, RenderedFile]:
    """`dovecot/users` (passdb and userdb of mailboxes) and `dovecot/relay-users` (passdb only).

    Relay credentials are in no userdb, so they authenticate for SMTP submission but IMAP, POP3 and LMTP
    find no such user. Disabled and deleted mailboxes are left out: they cannot log in.
    """
    root = host.mail_root
    uid, gid = settings.MAIL_UID, settings.MAIL_GID
    auth_group = settings.MAILHOST_AUTH_GROUP
    users = []
    for box in data.mailboxes:
        if box.deleted or not box.is_enabled or not is_safe_address(box.address):
            continue
        if not is_password_hash(box.password_hash):
            logger.warning("mailbox %s has no usable password hash; left out", box.address)
            continue
        home = root / box.domain / box.local_part
        quota = f"userdb_quota_rule=*:storage={int(box.quota_bytes)}B"
        users.append(f"{box.address}:{box.password_hash}:{uid}:{gid}::{home}::{quota}\n")
    relay = []
    for username, secret_hash, _domains in data.relay_credentials:
        if is_safe_token(username.replace("@", "")) and is_password_hash(secret_hash):
            relay.append(f"{username}:{secret_hash}::::::\n")
    return {
        "dovecot/users": RenderedFile(
            "".join(sorted(users)).encode(), MODE_AUTH, group=auth_group, bump_mtime=True
        ),
        "dovecot/relay-users": RenderedFile(
            "".join(sorted(relay)).encode(), MODE_AUTH, group=auth_group, bump_mtime=True
        ),
    }


def is_password_hash(value: str) -> bool:
    """A `{SCHEME}hash` string that fits in one passwd-file field."""
    return value.startswith("{") and "}" in value and not re.search(r"[\s:\x00-\x1f]", value)


# --- Sieve ---------------------------------------------------------------------------------------------


def render_sieve(data: HostData) -> dict[str, RenderedFile]:
    """One script per enabled autoresponder: `sieve/<domain>/<local part>.sieve` (see dovecot.conf)."""
    if not data.autoresponders:
        return {}
    from ..sieve import render_autoresponder

    files = {}
    for autoresponder in data.autoresponders:
        box = autoresponder.mailbox
        if is_safe_address(box.address):
            script = render_autoresponder(autoresponder)
            files[f"sieve/{box.domain.name}/{box.local_part}.sieve"] = RenderedFile(script.encode("utf-8"))
    return files


# --- OpenDKIM ------------------------------------------------------------------------------------------


def render_opendkim(data: HostData, host: MailHost) -> dict[str, RenderedFile]:
    """KeyTable, SigningTable and one private key file (0600) per domain's signing key."""
    if data.dkim_keys:
        from ..crypto import decrypt_private_key
    key_dir = Path(host.config_dir) / "opendkim" / "keys"
    files, key_table, signing_table = {}, [], []
    signing_domains = set()
    for key in data.dkim_keys:  # newest active key of each domain first
        domain = key.domain.name
        if domain in signing_domains or not (is_safe_token(domain) and is_safe_token(key.selector)):
            continue
        signing_domains.add(domain)
        name = f"{key.selector}._domainkey.{domain}"
        key_file = f"{domain}.{key.selector}.private"
        files[f"opendkim/keys/{key_file}"] = RenderedFile(
            decrypt_private_key(key), MODE_SECRET, settings.MAILHOST_DKIM_KEY_OWNER
        )
        key_table.append(f"{name} {domain}:{key.selector}:{key_dir / key_file}\n")
        signing_table.append(f"*@{domain} {name}\n")
    files["opendkim/KeyTable"] = RenderedFile("".join(sorted(key_table)).encode())
    files["opendkim/SigningTable"] = RenderedFile("".join(sorted(signing_table)).encode())
    return files
