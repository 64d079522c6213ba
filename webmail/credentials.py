"""The mail-host credential of a webmail session: a login for exactly one mailbox, checked by Dovecot itself.

After single sign-on (or a password change in webmail) the panel gives the webmail a credential that it uses as
the mailbox's password for IMAP and SMTP submission for the rest of the session:

    pbw1.<expires>.<nonce>.<mac>
    mac = HMAC-SHA256(host key, "pbw1\\n<address>\\n<expires>\\n<nonce>\\n<the mailbox's password hash>")

`expires` is a Unix time at most `WEBMAIL_SESSION_SECONDS` ahead. The host key is the mailbox's own mail host's
(derived from `WEBMAIL_CREDENTIAL_SECRET`), rendered onto that host only (webmail/rendering.py); Dovecot's
checkpassword passdb (deploy/dovecot/webmail-checkpassword) recomputes the MAC for the user name of the login
with the password hash its user table holds, so a credential works for its own mailbox on its own host, until
it expires or the mailbox's password changes (a webmail session opened before a change ends with it, as one
opened with the old password does), from the webmail's addresses, and for nothing else. It is not a
password: no mailbox password is stored or passed on, and the hash stays inside the MAC.
"""

import hashlib
import hmac
import re
import secrets
import time

from django.conf import settings

from mailaccounts.models import Mailbox
from mailaccounts.services.logins import normalize_login_address
from mailhosts.models import MailHost

PREFIX = "pbw1"
NONCE_BYTES = 12
CREDENTIAL = re.compile(r"pbw1\.([0-9]{1,12})\.([A-Za-z0-9_-]{8,64})\.([0-9a-f]{64})")


def host_key(host: MailHost) -> str:
    """The host's own key (by its unique name): a credential made for one host is refused by every other."""
    message = f"postbode-webmail-host:{host.name}".encode()
    return hmac.new(settings.WEBMAIL_CREDENTIAL_SECRET.encode(), message, hashlib.sha256).hexdigest()


def mac(key: str, address: str, expires: int, nonce: str, password_hash: str) -> str:
    message = f"{PREFIX}\n{address.lower()}\n{expires}\n{nonce}\n{password_hash}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def current_password_hash(address: str) -> str:
    """The password hash of the mailbox with this address (what the mail host's user table holds once the
    last change is applied), or "" when there is none."""
    parts = normalize_login_address(address)
    if parts is None:
        return ""
    local, domain = parts
    found = (
        Mailbox.objects.filter(local_part=local, domain__name=domain, deleted_at__isnull=True)
        .values_list("password_hash", flat=True)
        .first()
    )
    return found or ""


def session_seconds() -> int:
    return max(60, settings.WEBMAIL_SESSION_SECONDS)


def make_credential(
    host: MailHost, address: str, *, password_hash: str | None = None, now: float | None = None
) -> tuple[str, int]:
    """A credential for `address` on `host` while its password stays `password_hash` (by default the
    mailbox's current one), and when it expires (Unix time)."""
    if password_hash is None:
        password_hash = current_password_hash(address)
    expires = int(now if now is not None else time.time()) + session_seconds()
    nonce = secrets.token_urlsafe(NONCE_BYTES)
    return (
        f"{PREFIX}.{expires}.{nonce}.{mac(host_key(host), address, expires, nonce, password_hash)}",
        expires,
    )


def is_valid(
    host: MailHost,
    address: str,
    credential: str,
    *,
    password_hash: str | None = None,
    now: float | None = None,
) -> bool:
    """The check Dovecot's passdb makes (without the service and address checks; the password hash is the
    mailbox's current one unless given), for the panel's own tests and tools."""
    match = CREDENTIAL.fullmatch(credential)
    if match is None:
        return False
    expires, nonce, given = int(match[1]), match[2], match[3]
    now = now if now is not None else time.time()
    if not now < expires <= now + session_seconds():
        return False
    if password_hash is None:
        password_hash = current_password_hash(address)
    return bool(password_hash) and hmac.compare_digest(
        given, mac(host_key(host), address, expires, nonce, password_hash)
    )
