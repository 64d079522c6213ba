"""Automatic configuration answers: Thunderbird's autoconfig and Microsoft's Autodiscover (POX).

Both answer per domain, never per mailbox: any address of a hosted domain gets the same settings (the
username is the address the client asked with, or Thunderbird's `%EMAILADDRESS%`), so they tell nobody
which mailboxes exist. A domain we do not host is a 404.
"""

import defusedxml.ElementTree as SafeET
import idna
from defusedxml import DefusedXmlException

from mailaccounts.models import Domain

AUTODISCOVER_REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
OUTLOOK_RESPONSE_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
MAX_ADDRESS_LENGTH = 320


class BadRequest(Exception):
    """The request cannot be answered: malformed, too large, or carrying a DTD or entities."""


def ascii_domain(name: str) -> str | None:
    """The punycode form of a domain name typed in any form, or None when it is no domain name."""
    name = name.strip().rstrip(".").lower()
    if not name or len(name) > 253:
        return None
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None


def hosted_domain(name: str) -> Domain | None:
    ascii_name = ascii_domain(name)
    if ascii_name is None:
        return None
    return Domain.objects.verified().select_related("mailhost").filter(name=ascii_name).first()


def domain_of(address: str) -> str:
    local, at, domain = address.rpartition("@")
    return domain if at and local else ""


def autoconfig_domain(*, email_address: str, host: str) -> Domain | None:
    """Thunderbird asks `autoconfig.<domain>` (or the provider's own host) with `?emailaddress=`."""
    if email_address:
        return hosted_domain(domain_of(email_address))
    host = host.split(":")[0].lower()
    if host.startswith("autoconfig."):
        return hosted_domain(host.removeprefix("autoconfig."))
    return None


def parse_autodiscover(body: bytes) -> str:
    """The EMailAddress of a POX Autodiscover request. Raises BadRequest for anything else: a DTD or
    entity (XXE, billion laughs) is refused before any expansion, and no external resource is ever read."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as error:
        raise BadRequest(str(error)) from error
    if root.tag != f"{{{AUTODISCOVER_REQUEST_NS}}}Autodiscover":
        raise BadRequest("not an Autodiscover request")
    element = root.find(f"{{{AUTODISCOVER_REQUEST_NS}}}Request/{{{AUTODISCOVER_REQUEST_NS}}}EMailAddress")
    address = (element.text or "").strip() if element is not None else ""
    if not address or len(address) > MAX_ADDRESS_LENGTH or not domain_of(address):
        raise BadRequest("no e-mail address")
    return address
