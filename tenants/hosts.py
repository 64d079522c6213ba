"""The host name a request was sent to, for the few public endpoints that answer by it (MTA-STS policies,
mail programs' automatic configuration) without the panel admitting those names in `ALLOWED_HOSTS`."""

import re

from django.conf import settings
from django.http.request import split_domain_port, validate_host

# Where mail programs and other mail servers ask `mta-sts.<domain>` / `autoconfig.<domain>` /
# `autodiscover.<domain>`, all pointed at this panel by the customers' DNS.
MAIL_CLIENT_PATHS = frozenset(
    {
        "/.well-known/mta-sts.txt",
        "/mail/config-v1.1.xml",
        "/.well-known/autoconfig/mail/config-v1.1.xml",
        "/autodiscover/autodiscover.xml",
        "/Autodiscover/Autodiscover.xml",
    }
)
HOST_NAME = re.compile(r"\A(?=.{4,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}\Z")
MAIL_CLIENT_HOST = "mail_client_host"


def mail_client_host(request) -> str:
    """The host a mail-client endpoint was asked for: a plain host name outside `ALLOWED_HOSTS` that
    `MailClientHostMiddleware` let through, else the panel's own validated host."""
    return getattr(request, MAIL_CLIENT_HOST, None) or request.get_host().split(":")[0].lower()


def outside_host(request) -> str | None:
    """The request's host name when it is a well-formed name that `ALLOWED_HOSTS` does not admit."""
    raw = request.headers.get("host", "")
    domain, _port = split_domain_port(raw)
    domain = domain.lower().rstrip(".")
    if not HOST_NAME.match(domain):
        return None
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return None if validate_host(domain, allowed) else domain
