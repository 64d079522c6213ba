"""The server settings a client needs for a mailbox: one place, used by the autoconfig, Autodiscover and
profile answers, the device page and the instruction e-mail."""

from dataclasses import dataclass
from pathlib import Path

from mailaccounts.models import Domain, Mailbox
from mailhosts.models import MailHost

from .models import ClientEndpoints


def endpoints_for(host: MailHost) -> ClientEndpoints:
    """The host's client settings; the standard ports on the host's own name when staff set none."""
    try:
        return host.client_endpoints
    except ClientEndpoints.DoesNotExist:
        return ClientEndpoints(mailhost=host)


def dav_storage_path(host: MailHost) -> Path:
    """Where Radicale keeps the host's calendars and address books (for backups)."""
    return endpoints_for(host).storage_path


@dataclass(frozen=True)
class Server:
    protocol: str  # imap, pop3, smtp
    hostname: str
    port: int
    security: str  # "ssl" (implicit TLS) or "starttls"


@dataclass(frozen=True)
class ClientSettings:
    domain: str
    username: str  # the full address; "%EMAILADDRESS%" in answers that must not depend on the address
    imap: tuple[Server, Server]  # preferred first
    pop3: tuple[Server, Server]
    smtp: tuple[Server, Server]
    dav_url: str
    dav_hostname: str
    dav_port: int

    @property
    def servers(self) -> list[Server]:
        return [*self.imap, *self.pop3, *self.smtp]


def settings_for_domain(domain: Domain, *, username: str) -> ClientSettings:
    endpoints = endpoints_for(domain.mailhost)
    host = endpoints.server
    return ClientSettings(
        domain=domain.name,
        username=username,
        imap=(
            Server("imap", host, endpoints.imaps_port, "ssl"),
            Server("imap", host, endpoints.imap_port, "starttls"),
        ),
        pop3=(
            Server("pop3", host, endpoints.pop3s_port, "ssl"),
            Server("pop3", host, endpoints.pop3_port, "starttls"),
        ),
        smtp=(
            Server("smtp", host, endpoints.submissions_port, "ssl"),
            Server("smtp", host, endpoints.submission_port, "starttls"),
        ),
        dav_url=endpoints.dav_url,
        dav_hostname=host,
        dav_port=endpoints.dav_port,
    )


def settings_for_mailbox(mailbox: Mailbox) -> ClientSettings:
    return settings_for_domain(mailbox.domain, username=mailbox.address)
