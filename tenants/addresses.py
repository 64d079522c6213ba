"""The one check of an e-mail address typed into the panel, wherever it is typed.

Sign-up, invitations, billing addresses, forwards, alias destinations, DMARC and TLS-RPT reporting addresses
and the staff admin's forms all go through `normalize_email_address` (or `validate_email_address`, its
validator form for model and form fields). It accepts what every part of the mail host can take and what a
DNS TXT record can carry in a `mailto:` URI, so an address the panel stores is never dropped later:

- the part before the @ is a dot-atom of letters, digits and `_ + - =`: no quoted local parts (`"a;b"@x`),
  no characters that separate fields in a map, a Sieve script, a DMARC record or a URI;
- the domain is a host name (punycode when typed in Unicode), with a real public suffix (`a.b` is not),
  never an IP literal (`x@[127.0.0.1]`) or a bare suffix (`x@co.uk`);
- at most 64 characters before the @ and 254 in all, no spaces or control characters anywhere.
"""

import re
from functools import cache

import idna
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext as _
from publicsuffixlist import PublicSuffixList

MAX_ADDRESS_LENGTH = 254
MAX_LOCAL_PART_OCTETS = 64
LOCAL_PART = re.compile(r"\A[A-Za-z0-9_+=-]+(?:\.[A-Za-z0-9_+=-]+)*\Z")
IP_LITERAL = re.compile(r"\A\[.*\]\Z|\A[\d.]+\Z|:")
CONTROL_OR_SPACE = re.compile(r"[\s\x00-\x1f\x7f]")


@cache
def public_suffix_list() -> PublicSuffixList:
    return PublicSuffixList()


def has_real_public_suffix(ascii_domain: str) -> bool:
    """True when the domain is registrable under a suffix on the Public Suffix List (or one of
    `EXTRA_MAIL_SUFFIXES`, the reserved names a test or lab set-up uses: `example`, `test`, `localhost`)."""
    if public_suffix_list().privatesuffix(ascii_domain, accept_unknown=False) is not None:
        return True
    labels = ascii_domain.split(".")
    return len(labels) >= 2 and labels[-1] in set(settings.EXTRA_MAIL_SUFFIXES)


def _invalid(message: str, address: str, code: str = "invalid") -> ValidationError:
    return ValidationError(message % {"value": address}, code=code)


def _ascii_domain(domain: str, address: str) -> str:
    if IP_LITERAL.search(domain):
        raise _invalid(_("“%(value)s”: use a domain name after the @, not an IP address."), address, "ip")
    try:
        ascii_domain = idna.encode(domain.rstrip(".").lower(), uts46=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise _invalid(_("“%(value)s” does not have a valid domain name."), address) from None
    if "." not in ascii_domain:
        raise _invalid(
            _("“%(value)s” is not a valid e-mail address: it needs a full domain name after the @."), address
        )
    if not has_real_public_suffix(ascii_domain):
        raise _invalid(
            _("“%(value)s” does not end in an existing top-level domain (such as .nl or .com)."),
            address,
            "suffix",
        )
    return ascii_domain


def normalize_email_address(value: str) -> str:
    """The address with its domain as lower-case punycode, or ValidationError saying what is wrong."""
    address = (value or "").strip()
    if CONTROL_OR_SPACE.search(address):
        raise _invalid(
            _("“%(value)s” is not a valid e-mail address: it contains spaces or invisible characters."),
            address.strip(),
        )
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise _invalid(_("“%(value)s” is not an e-mail address."), address)
    if local.startswith('"') or '"' in local or "@" in local:
        raise _invalid(
            _("“%(value)s”: addresses with quotes before the @ are not accepted."), address, "quoted"
        )
    if not local.isascii():
        raise _invalid(_("“%(value)s”: use only plain ASCII characters before the @."), address, "unicode")
    if len(address) > MAX_ADDRESS_LENGTH:
        raise ValidationError(
            _("“%(value)s” is longer than %(max)d characters.")
            % {"value": address, "max": MAX_ADDRESS_LENGTH},
            code="too_long",
        )
    if len(local) > MAX_LOCAL_PART_OCTETS or not LOCAL_PART.match(local):
        raise _invalid(
            _(
                "“%(value)s” is not a valid e-mail address: before the @ use letters, digits and . _ + - = "
                "(no dot at the start or end, no two dots in a row)."
            ),
            address,
        )
    normalized = f"{local}@{_ascii_domain(domain, address)}"
    if len(normalized) > MAX_ADDRESS_LENGTH:
        raise ValidationError(
            _("“%(value)s” is longer than %(max)d characters.")
            % {"value": address, "max": MAX_ADDRESS_LENGTH},
            code="too_long",
        )
    return normalized


@deconstructible(path="tenants.addresses.EmailAddressValidator")
class EmailAddressValidator:
    """`normalize_email_address` as a validator for model and form fields."""

    def __call__(self, value: str) -> None:
        normalize_email_address(value)

    def __eq__(self, other) -> bool:
        return isinstance(other, EmailAddressValidator)

    def __hash__(self) -> int:
        return hash(EmailAddressValidator)


validate_email_address = EmailAddressValidator()
