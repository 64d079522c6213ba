"""Adding, verifying and removing a customer's domains.

Names are stored as punycode (IDNA 2008 with UTS #46 mapping) and shown in Unicode.
"""

import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import dns.exception
import dns.resolver
import idna
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from publicsuffixlist import PublicSuffixList

from mailhosts.models import MailHost
from mailhosts.revisions import bump_revision, mark_changed
from tenants.audit import Actor, record
from tenants.models import Customer

from ..models import Domain
from .dns import make_resolver

MAX_NAME_LENGTH = 253
VERIFICATION_VALUE_PREFIX = "postbode-verify="

# Script sets that are normal together within one label (UTS #39 "highly restrictive"): Japanese, Chinese
# with Bopomofo and Korean names may include Latin. Every other mix is treated as a possible homograph.
ALLOWED_SCRIPT_MIXES = (
    {"Latin", "Han", "Hiragana", "Katakana"},
    {"Latin", "Han", "Bopomofo"},
    {"Latin", "Han", "Hangul"},
)


@cache
def public_suffix_list() -> PublicSuffixList:
    return PublicSuffixList()


def _script(char: str) -> str | None:
    """The script of a letter (from its Unicode name), or None for digits, hyphens and marks."""
    if not unicodedata.category(char).startswith("L"):
        return None
    word = unicodedata.name(char, "").split(" ")[0]
    return {"CJK": "Han"}.get(word, word.title())


def is_mixed_script(label: str) -> bool:
    scripts = {script for script in map(_script, label) if script}
    if len(scripts) <= 1:
        return False
    return not any(scripts <= allowed for allowed in ALLOWED_SCRIPT_MIXES)


def normalize_domain_name(raw: str) -> str:
    """The punycode form of a domain name a customer typed, or a ValidationError saying what is wrong."""
    name = raw.strip().rstrip(".")
    if not name:
        raise ValidationError(_("Enter a domain name."))
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(_("A domain name has at most 253 characters."))
    try:
        ascii_name = idna.encode(name, uts46=True, std3_rules=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError) as error:
        raise ValidationError(_("“%(name)s” is not a valid domain name.") % {"name": name}) from error
    ascii_name = ascii_name.lower()
    labels = ascii_name.split(".")
    if len(ascii_name) > MAX_NAME_LENGTH or len(labels) < 2:
        raise ValidationError(_("“%(name)s” is not a valid domain name.") % {"name": name})
    if labels[-1].isdigit():
        raise ValidationError(_("Enter a domain name, not an IP address."))
    unicode_name = idna.decode(ascii_name)
    if any(is_mixed_script(label) for label in unicode_name.split(".")):
        raise ValidationError(
            _("“%(name)s” mixes letters of different scripts (for example Latin and Cyrillic).")
            % {"name": unicode_name}
        )
    if public_suffix_list().privatesuffix(ascii_name) is None:
        raise ValidationError(
            _("“%(name)s” is a public suffix; add a domain registered under it instead.")
            % {"name": unicode_name}
        )
    return ascii_name


def verification_record(domain: Domain) -> tuple[str, str]:
    """The TXT record (name, value) that proves the customer controls the domain."""
    return (
        f"{settings.DOMAIN_VERIFICATION_PREFIX}.{domain.name}",
        f"{VERIFICATION_VALUE_PREFIX}{domain.verification_token}",
    )


def _taken_error(ascii_name: str, customer: Customer) -> ValidationError:
    """Say so plainly when it is the customer's own domain (a double submit); else only that it is taken."""
    name = idna.decode(ascii_name)
    if Domain.objects.filter(name=ascii_name, customer=customer).exists():
        return ValidationError(_("You have already added %(name)s.") % {"name": name})
    return ValidationError(_("The domain %(name)s is already in use.") % {"name": name})


@transaction.atomic
def add_domain(*, customer: Customer, name: str, actor: Actor) -> Domain:
    ascii_name = normalize_domain_name(name)
    if Domain.objects.filter(name=ascii_name).exists():
        raise _taken_error(ascii_name, customer)
    host = MailHost.objects.default()
    try:
        with transaction.atomic():
            domain = Domain.objects.create(
                customer=customer,
                name=ascii_name,
                mailhost=host,
                verification_token=secrets.token_hex(16),
            )
    except IntegrityError as error:  # taken between the check and the insert
        raise _taken_error(ascii_name, customer) from error
    mark_changed(domain, host=domain.mailhost)
    record(actor, "domain.added", customer=customer, obj=domain, changes={"name": ascii_name})
    return domain


@dataclass(frozen=True)
class VerificationResult:
    verified: bool
    message: str


def lookup_verification_values(domain: Domain) -> list[str]:
    """The TXT strings published at the verification name (each record's strings joined)."""
    record_name, _value = verification_record(domain)
    answer = make_resolver().resolve(record_name, "TXT", raise_on_no_answer=False)
    return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]


@transaction.atomic
def mark_domain_verified(*, domain: Domain, actor: Actor) -> None:
    domain.verified_at = timezone.now()
    domain.verification_checked_at = domain.verified_at
    domain.save(update_fields=["verified_at", "verification_checked_at"])
    mark_changed(domain, host=domain.mailhost)
    record(actor, "domain.verified", customer=domain.customer, obj=domain)


def verify_domain(*, domain: Domain, actor: Actor) -> VerificationResult:
    """Look up the verification TXT record; mark the domain verified when it holds the token."""
    if domain.is_verified:
        return VerificationResult(True, _("This domain is verified."))
    record_name, expected = verification_record(domain)
    try:
        values = lookup_verification_values(domain)
    except dns.resolver.NXDOMAIN:
        values, problem = [], _("No record found at %(name)s yet.") % {"name": record_name}
    except dns.exception.Timeout:
        values, problem = [], _("The DNS look-up timed out. Please try again in a few minutes.")
    except dns.exception.DNSException:
        values, problem = [], _("The DNS look-up failed. Please try again in a few minutes.")
    else:
        problem = _("The TXT record at %(name)s does not hold %(value)s yet.") % {
            "name": record_name,
            "value": expected,
        }
    if expected in values:
        mark_domain_verified(domain=domain, actor=actor)
        return VerificationResult(True, _("Domain verified."))
    Domain.objects.filter(pk=domain.pk).update(verification_checked_at=timezone.now())
    return VerificationResult(False, problem)


@dataclass(frozen=True)
class RemovalSummary:
    mailboxes: int
    aliases: int
    dkim_keys: int


def removal_summary(domain: Domain) -> RemovalSummary:
    return RemovalSummary(
        mailboxes=domain.mailboxes.filter(deleted_at__isnull=True).count(),
        aliases=domain.aliases.count(),
        dkim_keys=domain.dkim_keys.count(),
    )


@transaction.atomic
def remove_domain(*, domain: Domain, actor: Actor) -> None:
    """Delete the domain with its mailboxes, aliases and DKIM keys; the mail host drops them on its next apply."""
    summary = removal_summary(domain)
    record(
        actor,
        "domain.removed",
        customer=domain.customer,
        obj=domain,
        changes={
            "name": domain.name,
            "mailboxes": summary.mailboxes,
            "aliases": summary.aliases,
            "dkim_keys": summary.dkim_keys,
        },
    )
    bump_revision(domain.mailhost)
    domain.delete()


# What capabilities above this app do when a domain moves to another customer (the relay takes the domain
# off the credentials of the customer it left): `fn(domain, previous_customer, actor)`, inside the move's
# transaction, registered in their `AppConfig.ready`.
DomainMoved = Callable[[Domain, Customer, Actor], None]
_domain_moved_handlers: list[DomainMoved] = []


def register_domain_moved(handler: DomainMoved) -> None:
    if handler not in _domain_moved_handlers:
        _domain_moved_handlers.append(handler)


@transaction.atomic
def move_domain(*, domain: Domain, customer: Customer, mailhost: MailHost, actor: Actor) -> dict[str, str]:
    """Staff move a domain to another customer and/or mail host; returns what changed (audited as
    `domain.changed_by_staff`, each new value as text).

    1. To another customer: its mailboxes and aliases go with it (their owner is the domain's customer), and
       the capabilities registered with `register_domain_moved` let go of it for the customer it left.
    2. To another mail host: the host it left renders it away; the one it is on now renders it. The mail
       itself (Maildir folders) is copied between the hosts by staff.
    """
    stored = Domain.objects.select_for_update().select_related("customer", "mailhost").get(pk=domain.pk)
    previous_customer, previous_host = stored.customer, stored.mailhost
    changes = {}
    if customer.pk != previous_customer.pk:
        changes["customer"] = str(customer)
    if mailhost.pk != previous_host.pk:
        changes["mailhost"] = str(mailhost)
    if not changes:
        return changes
    domain.customer, domain.mailhost = customer, mailhost
    domain.save(update_fields=["customer", "mailhost"])
    if "customer" in changes:
        domain.mailboxes.update(customer=customer)
        domain.aliases.update(customer=customer)
        for handler in _domain_moved_handlers:
            handler(domain, previous_customer, actor)
    if "mailhost" in changes:
        bump_revision(previous_host)
    mark_changed(domain, host=mailhost)
    record(actor, "domain.changed_by_staff", customer=customer, obj=domain, changes=changes)
    return changes
