"""Webmail's part of a mail host's configuration (the "webmail" renderer), all below `webmail/`:

- `roundcube.json`: what the host's Roundcube needs from the panel (deploy/roundcube/config.inc.php reads it):
  its session key and the secret it shows the panel (single sign-on, password changes). Mode 0640, group
  `WEBMAIL_PHP_GROUP` (the PHP-FPM pool's).
- `dovecot-credentials.json`: what Dovecot's checkpassword passdb for webmail sessions
  (deploy/dovecot/webmail-checkpassword) checks a credential with (webmail/credentials.py): this host's own key,
  the longest session, the webmail's addresses and the services a credential is good for. Mode 0640, group
  `MAILHOST_AUTH_GROUP`; the key changes only with `WEBMAIL_CREDENTIAL_SECRET`.
- `signatures/<domain>/<bucket>.json`: the signatures of the domain's mailboxes (each its own, or the
  domain's template filled in) by lower-case address, which the Roundcube plugin sets on the default
  identity. Mailboxes without one are not in them. A folder per domain, a scope of the apply: a change in one
  domain renders that domain's signatures, not every signature of the host. A domain with up to
  `BUCKET_SIZE` signatures has one file, `all.json`; a larger one has a file per first hexadecimal digit of
  the address's SHA-256 (`0.json` … `f.json`), or per first two digits above 16 times that, so that a login
  reads a few dozen signatures at most, not every one of a large domain (`signature_file`). A file per
  mailbox, as before, made a first apply create one file per signature: 10,945 at 100,000 mailboxes.
- `unavailable/<language>.html`: the page the webmail's nginx shows, with 503, while PHP-FPM does not answer
  (deploy/nginx/snippets/postbode-webmail.conf), in the panel's look and the reader's language, instead of
  nginx's own "502 Bad Gateway". Mode 0644: nginx reads it.
"""

import hashlib
import ipaddress
import json
import logging
from collections import defaultdict
from itertools import chain

from django.conf import settings

from mailaccounts.models import Domain, Mailbox
from mailaccounts.services.signatures import signatures_of
from mailhosts.models import MailHost
from mailhosts.rendering import MODE_AUTH, MODE_PUBLIC, HostConfig, RenderedFile
from tenants.standalone import StandalonePageError, render_standalone

from .credentials import host_key, session_seconds

logger = logging.getLogger(__name__)

MANAGED_DIRS = ("webmail",)
# IMAP for reading, SMTP (Postfix's SASL through Dovecot) for sending; never POP3, calendars or other logins.
CREDENTIAL_SERVICES = ("imap", "smtp")


def allowed_nets() -> list[str]:
    """WEBMAIL_ALLOW_NETS as networks; an entry that is not one is left out."""
    nets = []
    for net in settings.WEBMAIL_ALLOW_NETS:
        try:
            nets.append(str(ipaddress.ip_network(net.strip(), strict=False)))
        except ValueError:
            continue
    return nets


def credentials_settings(host: MailHost) -> bytes:
    return json.dumps(
        {
            "key": host_key(host),
            "max_seconds": session_seconds(),
            "allow_nets": allowed_nets(),
            "services": list(CREDENTIAL_SERVICES),
        },
        indent=2,
    ).encode()


def roundcube_settings() -> bytes:
    return json.dumps(
        {
            "des_key": settings.WEBMAIL_DES_KEY,
            "api_secret": settings.WEBMAIL_API_SECRET,
        },
        indent=2,
    ).encode()


SIGNATURES = "webmail/signatures"
BUCKET_SIZE = 64  # the signatures a domain keeps in one file; above it, files by the addresses' hash


def signature_file(address: str, count: int) -> str:
    """The file of `address`'s signature in a domain with `count` signatures (the plugin looks for `all`, then
    the first digit, then the first two: the one that exists)."""
    address = address.lower()
    digits = 0 if count <= BUCKET_SIZE else 1 if count <= BUCKET_SIZE * 16 else 2
    bucket = hashlib.sha256(address.encode()).hexdigest()[:digits] or "all"
    return f"{SIGNATURES}/{address.rpartition('@')[2]}/{bucket}.json"


def signature_files(host: MailHost, scopes: frozenset[str] | None = None) -> dict[str, RenderedFile]:
    """The signature files of the domains with a signature (of those in `scopes`, or all): read from the (few)
    signatures and templates, so the cost grows with what has a signature, not with the host's mailboxes.
    Each entry carries `version`, the SHA-256 of its JSON (the plugin sets a signature again only when it
    changed; it is the hash of the file each mailbox had before the files by domain)."""
    mailboxes = Mailbox.objects.active().filter(domain__mailhost=host, is_enabled=True).order_by()
    domains = Domain.objects.filter(mailhost=host, signature_template__isnull=False)
    if scopes is not None:
        mailboxes = mailboxes.filter(domain__name__in=scopes)
        domains = domains.filter(name__in=scopes)
    own = mailboxes.filter(signature__isnull=False)
    from_template = mailboxes.filter(signature__isnull=True, domain__in=domains)
    # Each entry is serialised once, its version put into that JSON: the files are what `json.dumps` makes of
    # a dictionary of the entries by address, without serialising every signature a second time.
    by_domain: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for address, signature in chain(signatures_of(own), signatures_of(from_template)):
        address = address.lower()
        content = json.dumps(
            {"name": signature.name, "text": signature.text, "html": signature.html}, ensure_ascii=False
        )
        version = hashlib.sha256(content.encode()).hexdigest()
        entry = f'{content[:-1]}, "version": "{version}"}}'
        by_domain[address.rpartition("@")[2]].append((address, entry))
    files: dict[str, list[str]] = defaultdict(list)
    for entries in by_domain.values():
        for address, entry in sorted(entries):
            files[signature_file(address, len(entries))].append(f"{json.dumps(address)}: {entry}")
    return {
        path: RenderedFile(
            ("{" + ", ".join(files[path]) + "}").encode(), mode=MODE_AUTH, group=settings.WEBMAIL_PHP_GROUP
        )
        for path in sorted(files)
    }


# Rendered once per process and settings that show in them (a deploy brings new translations in a new process):
# every apply writes them, and a page rendered with the whole stylesheet takes milliseconds.
_unavailable_pages: dict[tuple, bytes] = {}


def unavailable_page(language: str) -> bytes:
    key = (
        language,
        settings.SITE_NAME,
        settings.SUPPORT_PHONE,
        settings.SUPPORT_HOURS,
        settings.SUPPORT_EMAIL,
    )
    if key not in _unavailable_pages:
        _unavailable_pages[key] = render_standalone("webmail/unavailable.html", language).encode()
    return _unavailable_pages[key]


def unavailable_files() -> dict[str, RenderedFile]:
    """The pages, or none when they cannot be made (a stylesheet missing from the installation): nginx then
    shows its own page while PHP-FPM restarts, and mail's configuration is applied all the same."""
    try:
        return {
            f"webmail/unavailable/{language}.html": RenderedFile(unavailable_page(language), mode=MODE_PUBLIC)
            for language, _name in settings.LANGUAGES
        }
    except StandalonePageError as error:
        logger.error("the webmail's unavailable pages were not written: %s", error)
        return {}


def render_webmail(host: MailHost) -> HostConfig:
    return HostConfig(files={**host_files(host), **signature_files(host)})


def render_webmail_scoped(host: MailHost, scopes: frozenset[str]) -> HostConfig:
    """The signatures of the domains in `scopes`, and the files that are not a domain's."""
    return HostConfig(files={**host_files(host), **signature_files(host, scopes)})


def host_files(host: MailHost) -> dict[str, RenderedFile]:
    return {
        "webmail/roundcube.json": RenderedFile(
            roundcube_settings(), mode=MODE_AUTH, group=settings.WEBMAIL_PHP_GROUP
        ),
        "webmail/dovecot-credentials.json": RenderedFile(
            credentials_settings(host), mode=MODE_AUTH, group=settings.MAILHOST_AUTH_GROUP
        ),
        **unavailable_files(),
    }
