"""Adding, verifying and removing a customer's domains.

Names are stored as punycode (IDNA 2008 with UTS #46 mapping) and shown in Unicode.
"""

import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

import dns.exception
import dns.resolver
import idna
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from publicsuffixlist import PublicSuffixList

from mailhosts.models import MailHost
from mailhosts.revisions import bump_revision, mark_changed
from tenants.audit import Actor, record
from tenants.emails import owner_addresses, send_customer_email, site_link
from tenants.models import Customer, User

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


def parent_names(ascii_name: str) -> list[str]:
    """`a.b.example.nl` → [`b.example.nl`, `example.nl`, `nl`]."""
    labels = ascii_name.split(".")
    return [".".join(labels[index:]) for index in range(1, len(labels))]


def claim_conflict(ascii_name: str, customer: Customer) -> ValidationError | None:
    """Why `customer` may not claim the name, or None. Only verified domains claim anything: another
    customer's unverified claim blocks nobody (issue 15), but a verified one blocks the name itself and
    every name below it."""
    if Domain.objects.filter(name=ascii_name, customer=customer).exists():
        return _taken_error(ascii_name, customer)
    others = Domain.objects.verified().exclude(customer=customer)
    if others.filter(name=ascii_name).exists():
        return _taken_error(ascii_name, customer)
    if others.filter(name__in=parent_names(ascii_name)).exists():
        return ValidationError(
            _("%(name)s is part of a domain another customer uses here, so it cannot be added.")
            % {"name": idna.decode(ascii_name)}
        )
    return None


@transaction.atomic
def add_domain(*, customer: Customer, name: str, actor: Actor) -> Domain:
    """Add an unverified claim on a domain. It routes nothing and blocks nobody until it is verified, and
    it is removed if it is not verified within `UNVERIFIED_DOMAIN_DAYS`."""
    ascii_name = normalize_domain_name(name)
    conflict = claim_conflict(ascii_name, customer)
    if conflict is not None:
        raise conflict
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
    """The verified claim wins: other customers' unverified claims on the name (or below it) are removed,
    and their owners are told by e-mail."""
    conflict = claim_conflict_on_verify(domain)
    if conflict is not None:
        raise conflict
    domain.verified_at = timezone.now()
    domain.verification_checked_at = domain.verified_at
    domain.save(update_fields=["verified_at", "verification_checked_at"])
    mark_changed(domain, host=domain.mailhost)
    record(actor, "domain.verified", customer=domain.customer, obj=domain)
    losing = Domain.objects.filter(verified_at__isnull=True).exclude(customer=domain.customer)
    for claim in losing.filter(Q(name=domain.name) | Q(name__endswith="." + domain.name)):
        remove_unverified_claim(domain=claim, reason=ClaimRemoval.VERIFIED_ELSEWHERE)


def claim_conflict_on_verify(domain: Domain) -> ValidationError | None:
    """A name another customer verified first (or a name below one) cannot be verified again."""
    others = Domain.objects.verified().exclude(pk=domain.pk).exclude(customer=domain.customer)
    if others.filter(name__in=[domain.name, *parent_names(domain.name)]).exists():
        return ValidationError(
            _("%(name)s is already in use by another customer here.") % {"name": domain.unicode_name}
        )
    return None


class ClaimRemoval:
    VERIFIED_ELSEWHERE = "verified_elsewhere"
    EXPIRED = "expired"


def remove_unverified_claim(*, domain: Domain, reason: str) -> None:
    """Remove an unverified domain (it has no mailboxes or aliases: those need a verified domain), audited
    on its customer, whose owners get an e-mail saying why."""
    customer = domain.customer
    record(
        Actor.system(),
        "domain.claim_removed",
        customer=customer,
        obj=domain,
        changes={"name": domain.name, "reason": reason},
    )
    context = {
        "domain_name": domain.unicode_name,
        "reason": reason,
        "days": settings.UNVERIFIED_DOMAIN_DAYS,
        "add_url": site_link("mailaccounts:domain_add"),
    }
    bump_revision(domain.mailhost)
    domain.delete()
    to = owner_addresses(customer)
    transaction.on_commit(
        lambda: send_customer_email(
            customer=customer, name="mailaccounts/email/domain_claim_removed", context=context, to=to
        )
    )


def expire_unverified_domains() -> int:
    """Remove domains still unverified `UNVERIFIED_DOMAIN_DAYS` after they were added (periodic task)."""
    cutoff = timezone.now() - timedelta(days=settings.UNVERIFIED_DOMAIN_DAYS)
    removed = 0
    for domain_id in Domain.objects.filter(verified_at__isnull=True, created_at__lt=cutoff).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            domain = Domain.objects.select_for_update().filter(pk=domain_id, verified_at__isnull=True).first()
            if domain is not None:
                remove_unverified_claim(domain=domain, reason=ClaimRemoval.EXPIRED)
                removed += 1
    return removed


def verification_deadline(domain: Domain):
    """When an unverified domain is removed if it is still not verified."""
    return domain.created_at + timedelta(days=settings.UNVERIFIED_DOMAIN_DAYS)


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
        conflict = claim_conflict_on_verify(domain)
        if conflict is not None:
            return VerificationResult(False, conflict.messages[0])
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
    bump_revision(domain.mailhost, scope=domain.name)
    User.objects.filter(mailbox_login__mailbox__domain=domain).delete()  # its mailboxes' own panel logins
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
        bump_revision(previous_host, scope=domain.name)
    mark_changed(domain, host=mailhost)
    record(actor, "domain.changed_by_staff", customer=customer, obj=domain, changes=changes)
    return changes
