"""Webmail's part of a mail host's configuration (the "webmail" renderer), all below `webmail/`:

- `roundcube.json`: what the host's Roundcube needs from the panel (deploy/roundcube/config.inc.php reads it):
  its session key and the secret it shows the panel (single sign-on, password changes). Mode 0640, group
  `WEBMAIL_PHP_GROUP` (the PHP-FPM pool's).
- `dovecot-credentials.json`: what Dovecot's checkpassword passdb for webmail sessions
  (deploy/dovecot/webmail-checkpassword) checks a credential with (webmail/credentials.py): this host's own key,
  the longest session, the webmail's addresses and the services a credential is good for. Mode 0640, group
  `MAILHOST_AUTH_GROUP`; the key changes only with `WEBMAIL_CREDENTIAL_SECRET`.
- `signatures/<domain>/<sha256 of the address>.json`: each mailbox's signature (its own, or its domain's
  template filled in), which the Roundcube plugin sets on the default identity. Mailboxes without one have no
  file. A folder per domain, a scope of the apply: a change in one domain renders that domain's signatures,
  not every signature of the host.
- `unavailable/<language>.html`: the page the webmail's nginx shows, with 503, while PHP-FPM does not answer
  (deploy/nginx/snippets/postbode-webmail.conf), in the panel's look and the reader's language, instead of
  nginx's own "502 Bad Gateway". Mode 0644: nginx reads it.
"""

import hashlib
import ipaddress
import json
import logging
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


def signature_path(address: str) -> str:
    address = address.lower()
    digest = hashlib.sha256(address.encode()).hexdigest()
    return f"{SIGNATURES}/{address.rpartition('@')[2]}/{digest}.json"


def signature_files(host: MailHost, scopes: frozenset[str] | None = None) -> dict[str, RenderedFile]:
    """The files of the mailboxes with a signature (of the domains in `scopes`, or all): read from the (few)
    signatures and templates, so the cost grows with what has a signature, not with the host's mailboxes."""
    files = {}
    mailboxes = Mailbox.objects.active().filter(domain__mailhost=host, is_enabled=True).order_by()
    domains = Domain.objects.filter(mailhost=host, signature_template__isnull=False)
    if scopes is not None:
        mailboxes = mailboxes.filter(domain__name__in=scopes)
        domains = domains.filter(name__in=scopes)
    own = mailboxes.filter(signature__isnull=False)
    from_template = mailboxes.filter(signature__isnull=True, domain__in=domains)
    for address, signature in chain(signatures_of(own), signatures_of(from_template)):
        content = {"name": signature.name, "text": signature.text, "html": signature.html}
        files[signature_path(address)] = RenderedFile(
            json.dumps(content, ensure_ascii=False).encode(), mode=MODE_AUTH, group=settings.WEBMAIL_PHP_GROUP
        )
    return files


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
