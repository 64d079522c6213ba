"""Webmail's part of a mail host's configuration (the "webmail" renderer), all below `webmail/`:

- `roundcube.json`: what the host's Roundcube needs from the panel (deploy/roundcube/config.inc.php reads it):
  its session key, the secret it shows the panel (single sign-on, password changes) and its Dovecot master
  login. Mode 0640, group `WEBMAIL_PHP_GROUP` (the PHP-FPM pool's).
- `dovecot-masters`: Dovecot's master passdb (deploy/dovecot/dovecot.conf): the webmail's master login, only
  from `WEBMAIL_ALLOW_NETS`. The hash is salted from the secret itself, so the file changes only with it.
- `signatures/<sha256 of the address>.json`: each mailbox's signature (its own, or its domain's template
  filled in), which the Roundcube plugin sets on the default identity. Mailboxes without one have no file.
"""

import hashlib
import hmac
import json
from itertools import chain

from django.conf import settings
from passlib.hash import sha512_crypt

from mailaccounts.models import Domain, Mailbox
from mailaccounts.passwords import SHA512_CRYPT, SHA512_ROUNDS
from mailaccounts.services.signatures import signatures_of
from mailhosts.models import MailHost
from mailhosts.rendering import MODE_AUTH, HostConfig, RenderedFile, is_password_hash, is_safe_token

MANAGED_DIRS = ("webmail",)
SALT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def stable_salt(secret: str) -> str:
    digest = hmac.new(secret.encode(), b"postbode-webmail-master-salt", hashlib.sha256).digest()
    return "".join(SALT_ALPHABET[byte % len(SALT_ALPHABET)] for byte in digest[:16])


def master_hash(password: str) -> str:
    hashed = sha512_crypt.using(rounds=SHA512_ROUNDS, salt=stable_salt(password)).hash(password)
    return "{" + SHA512_CRYPT + "}" + hashed


def masters_file() -> bytes:
    user, hashed, nets = settings.WEBMAIL_MASTER_USER, master_hash(settings.WEBMAIL_MASTER_PASSWORD), []
    for net in settings.WEBMAIL_ALLOW_NETS:
        if is_safe_token(net.replace("/", "")):
            nets.append(net)
    if not is_safe_token(user) or not is_password_hash(hashed) or not nets:
        return b""
    return f"{user}:{hashed}::::::allow_nets={','.join(nets)}\n".encode()


def roundcube_settings() -> bytes:
    return json.dumps(
        {
            "des_key": settings.WEBMAIL_DES_KEY,
            "api_secret": settings.WEBMAIL_API_SECRET,
            "master_user": settings.WEBMAIL_MASTER_USER,
            "master_password": settings.WEBMAIL_MASTER_PASSWORD,
        },
        indent=2,
    ).encode()


def signature_path(address: str) -> str:
    return f"webmail/signatures/{hashlib.sha256(address.lower().encode()).hexdigest()}.json"


def signature_files(host: MailHost) -> dict[str, RenderedFile]:
    """The files of the mailboxes with a signature: read from the (few) signatures and templates, so the cost
    of every apply grows with what has a signature, not with the host's mailboxes."""
    files = {}
    mailboxes = Mailbox.objects.active().filter(domain__mailhost=host, is_enabled=True).order_by()
    own = mailboxes.filter(signature__isnull=False)
    from_template = mailboxes.filter(
        signature__isnull=True,
        domain__in=Domain.objects.filter(mailhost=host, signature_template__isnull=False),
    )
    for address, signature in chain(signatures_of(own), signatures_of(from_template)):
        content = {"name": signature.name, "text": signature.text, "html": signature.html}
        files[signature_path(address)] = RenderedFile(
            json.dumps(content, ensure_ascii=False).encode(), mode=MODE_AUTH, group=settings.WEBMAIL_PHP_GROUP
        )
    return files


def render_webmail(host: MailHost) -> HostConfig:
    files = {
        "webmail/roundcube.json": RenderedFile(
            roundcube_settings(), mode=MODE_AUTH, group=settings.WEBMAIL_PHP_GROUP
        ),
        "webmail/dovecot-masters": RenderedFile(
            masters_file(), mode=MODE_AUTH, group=settings.MAILHOST_AUTH_GROUP, bump_mtime=True
        ),
        **signature_files(host),
    }
    return HostConfig(files=files)
