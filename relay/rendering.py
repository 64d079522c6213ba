"""The relay's part of a mail host's configuration: its credentials as logins.

- `dovecot/relay-users`: a passdb only. Relay credentials are in no userdb, so they authenticate for SMTP
  submission, but IMAP, POP3 and LMTP find no such user. Its lines are kept as rows of
  `dovecot/relay-users.sqlite` (`RELAY_TABLE`), which Dovecot reads on every login through
  deploy/dovecot/relay-sql.conf.ext: a new, changed or revoked credential counts the moment its row commits.
- `relay/domains`: the host's domains any credential may send as, one per line, which only the apply reads.
  A change of some domains only (`render_relay_scoped`) renders the logins again when it concerns one of
  them, then or now; any other keeps the files as they are, so that a password changed in one domain does
  not read every credential of the host.
- `credential_sender_logins`: registered with the mail accounts' renderer, so a credential may send as every
  address of its domains (`sender_login_maps`).
"""

from pathlib import Path

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet

from mailaccounts.models import Domain
from mailhosts.models import MailHost
from mailhosts.rendering import (
    MODE_AUTH,
    MODE_SECRET,
    HostConfig,
    RenderedFile,
    UserTable,
    is_password_hash,
    is_safe_token,
)

from .models import RelayCredential

RELAY_USERS = "dovecot/relay-users"
RELAY_TABLE = f"{RELAY_USERS}.sqlite"
RELAY_LOGINS = UserTable(fields=(("password", 1, "TEXT"),))  # `username:{SCHEME}hash::::::`
RELAY_DOMAINS = "relay/domains"
CREDENTIAL_DOMAINS = RelayCredential.domains.through  # a credential's link to a domain it may send as


def credential_sender_logins(
    domains: QuerySet[Domain], domain_names: dict[int, str]
) -> list[tuple[str, list[str]]]:
    """(username, [domain names]) of every enabled credential for any of these domains."""
    logins: dict[int, tuple[str, list[str]]] = {}
    for pk, username, domain_id in (
        RelayCredential.objects.filter(is_enabled=True, domains__in=domains)
        .order_by("id", "domains")  # the same logins in the same order, however the domains were chosen
        .values_list("id", "username", "domains")
    ):
        logins.setdefault(pk, (username, []))[1].append(domain_names[domain_id])
    return list(logins.values())


def render_relay(host: MailHost) -> HostConfig:
    """The logins of the enabled credentials that may send as a served domain of this host, and the names of
    the host's domains any credential (enabled or not) may send as."""
    links = (
        CREDENTIAL_DOMAINS.objects.filter(domain__mailhost=host)
        .order_by()
        .values_list(
            "domain__name",
            Exists(Domain.objects.served().filter(pk=OuterRef("domain_id"))),
            "relaycredential__is_enabled",
            "relaycredential__username",
            "relaycredential__secret_hash",
        )
    )
    lines: set[str] = set()
    covered: set[str] = set()
    for name, served, enabled, username, secret_hash in links:
        covered.add(name)
        if served and enabled and is_safe_token(username.replace("@", "")) and is_password_hash(secret_hash):
            lines.add(f"{username}:{secret_hash}::::::\n")
    logins = "".join(sorted(lines)).encode()
    domains = "".join(f"{name}\n" for name in sorted(covered)).encode()
    return HostConfig(
        files={RELAY_USERS: logins_file(logins), RELAY_DOMAINS: RenderedFile(domains, MODE_SECRET)}
    )


def render_relay_scoped(host: MailHost, scopes: frozenset[str]) -> HostConfig:
    """The relay's files when only `scopes` (domains) changed: rendered again when a credential may send as
    one of them, or could at the last apply (a credential revoked, a domain taken from it, since); else the
    files as they are (a host without them yet is rendered)."""
    root = Path(host.config_dir)
    try:
        logins = (root / RELAY_USERS).read_bytes()
        covered = (root / RELAY_DOMAINS).read_bytes()
        names = covered.decode().splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        return render_relay(host)
    concerned = not scopes.isdisjoint(names) or (
        CREDENTIAL_DOMAINS.objects.filter(domain__mailhost=host, domain__name__in=scopes).exists()
    )
    if concerned:
        return render_relay(host)
    return HostConfig(
        files={RELAY_USERS: logins_file(logins), RELAY_DOMAINS: RenderedFile(covered, MODE_SECRET)}
    )


def logins_file(content: bytes) -> RenderedFile:
    return RenderedFile(content, MODE_AUTH, group=settings.MAILHOST_AUTH_GROUP, user_table=True)
