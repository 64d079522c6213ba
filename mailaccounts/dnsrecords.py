"""The DNS records a customer must publish for a domain, computed from the panel's state.

Choices (see also README.md):
- SPF is `v=spf1 mx -all`: it authorises exactly the hosts the domain's MX points at, which are our mail
  hosts (they also send the domain's outgoing mail). It costs one DNS lookup of the ten SPF allows, leaves
  room for the customer's own includes, and follows a move to another of our hosts without any edit.
- MTA-STS: the policy is served by this panel at https://mta-sts.<domain>/.well-known/mta-sts.txt; its id is
  a hash of the policy, so it changes exactly when the policy does.
- autoconfig.<domain> and autodiscover.<domain> point at this panel (AUTOCONFIG_HOST), which answers them
  (devices/); the mail host runs no web server for them. Outlook also follows `_autodiscover._tcp` to the
  panel's own name, so it needs no certificate for the customer's name (deploy/README.md, "Device set-up").
- `_caldavs._tcp`/`_carddavs._tcp` point at Radicale on the mail host (RFC 6764).
- webmail.<domain> (optional) points at the provider-wide webmail (WEBMAIL_URL's host name).
"""

import hashlib
import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tenants.addresses import normalize_email_address

from .models import DkimKey, Domain
from .services.dkim import dkim_txt_value, published_keys
from .services.dns import dns_settings_for

TXT_STRING_MAX_BYTES = 255
SPF_VALUE = "v=spf1 mx -all"

# RFC 6186 (and RFC 8314 for implicit-TLS submission): service label, port.
SRV_SERVICES = [
    ("_imaps._tcp", 993),
    ("_pop3s._tcp", 995),
    ("_submission._tcp", 587),
    ("_submissions._tcp", 465),
]
# RFC 6764: CalDAV and CardDAV over TLS, served by Radicale on the mail host itself (its own certificate).
DAV_SRV_SERVICES = [("_caldavs._tcp", 443), ("_carddavs._tcp", 443)]


# The records mail needs to work (they decide a domain's verdict); all others are recommended improvements.
REQUIRED_KEYS = ("mx", "spf", "dmarc")  # and every "dkim:<selector>"


def is_required(record_key: str) -> bool:
    return record_key in REQUIRED_KEYS or record_key.startswith("dkim:")


@dataclass(frozen=True)
class DnsRecord:
    key: str  # stable identity of the record, e.g. "spf" or "dkim:pb202611"
    name: str  # fully qualified, without the final dot
    rtype: str
    value: str  # as one value, unsplit
    ttl: int
    why: str
    domain_name: str = ""
    strings: tuple[str, ...] = field(default=())  # TXT only: the value split into ≤255-byte strings

    @property
    def required(self) -> bool:
        return is_required(self.key)

    @property
    def relative_name(self) -> str:
        """The name as most DNS providers' forms want it: relative to the domain, `@` for the domain."""
        if self.name == self.domain_name:
            return "@"
        return self.name.removesuffix("." + self.domain_name)

    @property
    def zone_value(self) -> str:
        if self.rtype == "TXT":
            return " ".join(f'"{escape_character_string(part)}"' for part in self.strings)
        if self.rtype in {"CNAME", "MX", "SRV"}:
            return self.value + "."
        return self.value

    @property
    def zone_line(self) -> str:
        return f"{self.name}. {self.ttl} IN {self.rtype} {self.zone_value}"

    @property
    def is_split(self) -> bool:
        return len(self.strings) > 1


def split_txt(value: str) -> tuple[str, ...]:
    """Split a TXT value into character-strings of at most 255 bytes (RFC 1035 §3.3.14)."""
    data = value.encode()
    return tuple(
        data[start : start + TXT_STRING_MAX_BYTES].decode(errors="surrogateescape")
        for start in range(0, len(data), TXT_STRING_MAX_BYTES)
    ) or ("",)


def escape_character_string(text: str) -> str:
    """A TXT character-string for a zone file (RFC 1035 §5.1): `"` and `\\` escaped with a backslash, any
    byte outside printable ASCII as `\\DDD`, so no value can close the quotes or start a new line."""
    escaped = []
    for byte in text.encode(errors="surrogateescape"):
        if byte in (0x22, 0x5C):
            escaped.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            escaped.append(chr(byte))
        else:
            escaped.append(f"\\{byte:03d}")
    return "".join(escaped)


def report_address(domain: Domain) -> str:
    """The DMARC and TLS-RPT reporting address; postmaster@ of the domain when none is set, or when a stored
    one (from before the address rule) is not safe in a `mailto:` URI of a TXT record."""
    stored = dns_settings_for(domain).dmarc_report_email
    if stored:
        try:
            return normalize_email_address(stored)
        except ValidationError:
            pass
    return f"postmaster@{domain.name}"


def dmarc_value(domain: Domain) -> str:
    policy = dns_settings_for(domain).dmarc_policy
    return f"v=DMARC1; p={policy}; rua=mailto:{report_address(domain)}"


def mta_sts_policy(domain: Domain) -> str:
    """The MTA-STS policy file (RFC 8461 §3.2), CRLF line endings."""
    lines = [
        "version: STSv1",
        f"mode: {dns_settings_for(domain).mta_sts_mode}",
        f"mx: {domain.mailhost.hostname}",
        f"max_age: {settings.MTA_STS_MAX_AGE}",
    ]
    return "\r\n".join(lines) + "\r\n"


def mta_sts_id(domain: Domain) -> str:
    return hashlib.sha256(mta_sts_policy(domain).encode()).hexdigest()[:20]


def records_for(domain: Domain) -> list[DnsRecord]:
    """Every record to publish, in the order the records page shows them."""
    name = domain.name
    host = domain.mailhost.hostname
    ttl = settings.DNS_RECORD_TTL

    def rec(key, rname, rtype, value, why):
        strings = split_txt(value) if rtype == "TXT" else ()
        return DnsRecord(key, rname, rtype, value, ttl, why, domain_name=name, strings=strings)

    records = [
        rec("mx", name, "MX", f"10 {host}", _("Mail for the domain is delivered to our mail server.")),
        rec("spf", name, "TXT", SPF_VALUE, _("SPF: only the domain's mail servers may send its mail.")),
    ]
    for key in published_keys(domain):
        records.append(
            rec(
                f"dkim:{key.selector}",
                f"{key.selector}._domainkey.{name}",
                "TXT",
                dkim_txt_value(key),
                _dkim_why(key),
            )
        )
    records += [
        rec(
            "dmarc",
            f"_dmarc.{name}",
            "TXT",
            dmarc_value(domain),
            _("DMARC: what receivers do with mail that fails SPF and DKIM, and where they report."),
        ),
        rec(
            "autoconfig",
            f"autoconfig.{name}",
            "CNAME",
            settings.AUTOCONFIG_HOST,
            _(
                "Thunderbird and other mail apps find the server settings by themselves (served by this panel)."
            ),
        ),
        rec(
            "autodiscover",
            f"autodiscover.{name}",
            "CNAME",
            settings.AUTOCONFIG_HOST,
            _("Outlook and other mail apps find the server settings by themselves (served by this panel)."),
        ),
        rec(
            "srv:_autodiscover._tcp",
            f"_autodiscover._tcp.{name}",
            "SRV",
            f"0 0 443 {settings.AUTOCONFIG_HOST}",
            _("Outlook asks this panel for the settings over HTTPS, under the panel's own certificate."),
        ),
    ]
    webmail_host = urlsplit(settings.WEBMAIL_URL).hostname
    if webmail_host and not address_type(webmail_host):  # a CNAME needs a name (not the local stack's IP)
        records.append(
            rec(
                "webmail",
                f"webmail.{name}",
                "CNAME",
                webmail_host,
                _("Optional: webmail also opens at webmail.%(domain)s, besides %(address)s.")
                % {"domain": domain.unicode_name, "address": webmail_host},
            )
        )
    srv_why = {
        "_imaps._tcp": _("Mail apps find the IMAP server (RFC 6186)."),
        "_pop3s._tcp": _("Mail apps find the POP3 server (RFC 6186)."),
        "_submission._tcp": _("Mail apps find the server for sending mail, port 587 (RFC 6186)."),
        "_submissions._tcp": _("Mail apps find the server for sending mail over TLS, port 465 (RFC 8314)."),
    }
    for service, port in SRV_SERVICES:
        records.append(
            rec(f"srv:{service}", f"{service}.{name}", "SRV", f"0 1 {port} {host}", srv_why[service])
        )
    dav_why = {
        "_caldavs._tcp": _("Calendar apps find the calendar server (RFC 6764)."),
        "_carddavs._tcp": _("Contacts apps find the address book server (RFC 6764)."),
    }
    for service, port in DAV_SRV_SERVICES:
        records.append(
            rec(f"srv:{service}", f"{service}.{name}", "SRV", f"0 1 {port} {host}", dav_why[service])
        )
    records += [
        rec(
            "mta-sts",
            f"_mta-sts.{name}",
            "TXT",
            f"v=STSv1; id={mta_sts_id(domain)}",
            _("MTA-STS: other servers must deliver to you over verified TLS."),
        ),
        rec(
            "mta-sts-host",
            f"mta-sts.{name}",
            address_type(settings.MTA_STS_POLICY_HOST) or "CNAME",  # a CNAME cannot point at an IP address
            settings.MTA_STS_POLICY_HOST,
            _("Where other servers fetch your MTA-STS policy (served by this panel)."),
        ),
        rec(
            "tls-rpt",
            f"_smtp._tls.{name}",
            "TXT",
            f"v=TLSRPTv1; rua=mailto:{report_address(domain)}",
            _("TLS-RPT: where other servers report TLS delivery problems."),
        ),
    ]
    return records


def address_type(host: str) -> str:
    """ "A" or "AAAA" when the host is an IP address, else ""."""
    try:
        return "A" if ipaddress.ip_address(host).version == 4 else "AAAA"
    except ValueError:
        return ""


def _dkim_why(key: DkimKey) -> str:
    if key.state == DkimKey.State.PUBLISH:
        return _("DKIM: the new key; signing switches to it once this record is seen live.")
    if key.state == DkimKey.State.RETIRING:
        return _("DKIM: the previous key; keep it until mail signed with it has been delivered.")
    return _("DKIM: receivers check the signature on your outgoing mail with this key.")


def zone_fragment(domain: Domain) -> str:
    """All records as a zone-file fragment, one comment line of why above each record."""
    lines = [
        f"; DNS records for {domain.name}, generated by {settings.SITE_NAME}",
        f"$TTL {settings.DNS_RECORD_TTL}",
    ]
    for record in records_for(domain):
        lines += ["", f"; {record.why}", record.zone_line]
    return "\n".join(lines) + "\n"
