"""The relay's part of a mail host's configuration: its credentials as logins.

- `dovecot/relay-users`: a passdb only. Relay credentials are in no userdb, so they authenticate for SMTP
  submission, but IMAP, POP3 and LMTP find no such user. Its lines are kept as rows of
  `dovecot/relay-users.sqlite` (`RELAY_TABLE`), which Dovecot reads on every login through
  deploy/dovecot/relay-sql.conf.ext: a new, changed or revoked credential counts the moment its row commits.
- `credential_sender_logins`: registered with the mail accounts' renderer, so a credential may send as every
  address of its domains (`sender_login_maps`).
"""

from django.conf import settings
from django.db.models import QuerySet

from mailaccounts.models import Domain
from mailhosts.models import MailHost
from mailhosts.rendering import (
    MODE_AUTH,
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
    credentials = (
        RelayCredential.objects.filter(
            is_enabled=True, domains__in=Domain.objects.filter(mailhost=host).served()
        )
        .order_by()
        .values_list("username", "secret_hash")
        .distinct()
    )
    lines = [
        f"{username}:{secret_hash}::::::\n"
        for username, secret_hash in credentials
        if is_safe_token(username.replace("@", "")) and is_password_hash(secret_hash)
    ]
    content = "".join(sorted(lines)).encode()
    file = RenderedFile(content, MODE_AUTH, group=settings.MAILHOST_AUTH_GROUP, user_table=True)
    return HostConfig(files={RELAY_USERS: file})
