"""Mailboxes, aliases, forwarding, catch-all, postmaster@/abuse@, autoresponders, the storage pool and usage.

Every change goes through one of these functions: it validates (raising `ValidationError`, keyed by form
field where there is one), changes the database in one transaction, marks the object changed for its
mail host and records an audit entry. Views, the admin and tasks call them alike.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import idna
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import EmailValidator
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mailhosts.revisions import bump_revision, mark_changed
from tenants.audit import Actor, record
from tenants.models import Customer, Membership

from .. import passwords, usage
from ..models import Alias, Autoresponder, Domain, Mailbox

MB = 1024**2
GB = 1024**3
DEFAULT_QUOTA_BYTES = 1 * GB
MIN_QUOTA_BYTES = 10 * MB
MAX_DESTINATIONS = 50
MAX_ADDRESS_LENGTH = 254
MAX_LOCAL_PART_OCTETS = 64
QUOTA_WARNING_LEVELS = (95, 80)
AUTORESPONDER_MAX_BODY = 10_000
AUTORESPONDER_MAX_DAYS = 30

# RFC 2142 role addresses and system names: never a mailbox. postmaster@ and abuse@ are routed by the
# domain's own settings (`Domain.postmaster_to` / `abuse_to`), so they cannot be aliases either.
RESERVED_LOCAL_PARTS = frozenset(
    {
        "postmaster",
        "abuse",
        "mailer-daemon",
        "root",
        "hostmaster",
        "webmaster",
        "noc",
        "security",
        "nobody",
        "daemon",
        "uucp",
        "usenet",
        "news",
        "ftp",
        "www",
    }
)
ROUTED_LOCAL_PARTS = frozenset({"postmaster", "abuse", "mailer-daemon"})

# RFC 5321 dot-atom: atext runs separated by single dots. "%" and "!" are valid atext but old routing
# syntax (percent hack, bang paths) that mail servers may act on, so they are refused for hosted addresses.
ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
DOT_ATOM = re.compile(rf"\A{ATEXT}+(?:\.{ATEXT}+)*\Z")
ROUTING_CHARACTERS = set("%!")


# Local parts and addresses ---------------------------------------------------------------------------


def normalize_local_part(value: str, *, for_mailbox: bool) -> str:
    """The case-folded local part, or ValidationError saying what is wrong with it."""
    local = (value or "").strip().lower()
    if not local:
        raise ValidationError(_("Enter the part before the @."), code="required")
    if not local.isascii():
        raise ValidationError(
            _("Use only plain letters (a-z), digits and . - _ + in the part before the @."), code="unicode"
        )
    if len(local.encode()) > MAX_LOCAL_PART_OCTETS:
        raise ValidationError(
            _("The part before the @ can be at most %(max)d characters.") % {"max": MAX_LOCAL_PART_OCTETS},
            code="too_long",
        )
    if not DOT_ATOM.match(local) or ROUTING_CHARACTERS & set(local) or (for_mailbox and "/" in local):
        raise ValidationError(
            _(
                "“%(value)s” is not a valid address: use letters, digits and . - _ +, "
                "without a dot at the start or end or two dots in a row."
            )
            % {"value": local},
            code="invalid",
        )
    reserved = RESERVED_LOCAL_PARTS if for_mailbox else ROUTED_LOCAL_PARTS
    if local in reserved:
        if local in {"postmaster", "abuse"}:
            message = _("%(name)s@ is set per domain under “Routing”, not as a mailbox or alias.")
        elif for_mailbox and local not in ROUTED_LOCAL_PARTS:
            message = _("%(name)s is a reserved name for a mailbox; create it as an alias instead.")
        else:
            message = _("%(name)s is reserved for the mail system.")
        raise ValidationError(message % {"name": local}, code="reserved")
    return local


def local_part_for_field(value: str, *, for_mailbox: bool) -> str:
    try:
        return normalize_local_part(value, for_mailbox=for_mailbox)
    except ValidationError as error:
        raise ValidationError({"local_part": error.messages}) from None


def normalize_external_address(value: str) -> str:
    """A destination address: ASCII local part, domain as lower-case punycode; else ValidationError."""
    address = (value or "").strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise ValidationError(_("“%(value)s” is not an e-mail address.") % {"value": address}, code="invalid")
    if not local.isascii():
        raise ValidationError(
            _("“%(value)s”: use only plain ASCII characters before the @.") % {"value": address},
            code="unicode",
        )
    try:
        ascii_domain = idna.encode(domain.rstrip(".").lower(), uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise ValidationError(
            _("“%(value)s” does not have a valid domain name.") % {"value": address}, code="invalid"
        ) from None
    normalized = f"{local}@{ascii_domain}"
    if len(normalized) > MAX_ADDRESS_LENGTH:
        raise ValidationError(
            _("“%(value)s” is longer than %(max)d characters.")
            % {"value": address, "max": MAX_ADDRESS_LENGTH},
            code="too_long",
        )
    try:
        EmailValidator()(normalized)
    except ValidationError:
        raise ValidationError(
            _("“%(value)s” is not a valid e-mail address.") % {"value": address}, code="invalid"
        ) from None
    if "." not in ascii_domain:
        raise ValidationError(
            _("“%(value)s” needs a full domain name after the @.") % {"value": address}, code="invalid"
        )
    return normalized


def split_address(address: str) -> tuple[str, str]:
    local, _at, domain = address.rpartition("@")
    return local, domain


def address_holder(domain: Domain, local_part: str, *, exclude: Mailbox | Alias | None = None):
    """The mailbox (deleted ones included) or alias already using this address, or None."""
    mailboxes = Mailbox.objects.filter(domain=domain, local_part=local_part)
    aliases = Alias.objects.filter(domain=domain, local_part=local_part)
    if isinstance(exclude, Mailbox):
        mailboxes = mailboxes.exclude(pk=exclude.pk)
    if isinstance(exclude, Alias):
        aliases = aliases.exclude(pk=exclude.pk)
    return mailboxes.first() or aliases.first()


def check_address_free(domain: Domain, local_part: str, *, exclude=None) -> None:
    holder = address_holder(domain, local_part, exclude=exclude)
    if holder is None:
        return
    address = f"{local_part}@{domain.unicode_name}"
    if isinstance(holder, Mailbox) and holder.deleted_at is not None:
        message = _("%(address)s belongs to a deleted mailbox; restore it or wait until it is purged.")
    elif isinstance(holder, Mailbox):
        message = _("%(address)s is already a mailbox.")
    else:
        message = _("%(address)s is already an alias.")
    raise ValidationError({"local_part": message % {"address": address}})


def check_domain_usable(customer: Customer, domain: Domain) -> None:
    if domain.customer_id != customer.pk or not domain.is_verified:
        raise ValidationError({"domain": _("Choose one of your verified domains.")})


# Destinations, forwarding and cycles -----------------------------------------------------------------


def clean_destinations(customer: Customer, values: list[str], *, own_address: str = "") -> list[str]:
    """Normalise and check destination addresses (alias targets, forwards).

    An address at one of the customer's domains must be an existing mailbox or alias there; an address at
    a domain another customer hosts is refused (it would reach into their mail); others are external.
    """
    cleaned: list[str] = []
    errors: list[ValidationError] = []
    for value in values:
        if not value.strip():
            continue
        try:
            address = normalize_external_address(value)
        except ValidationError as error:
            errors.append(error)
            continue
        local, domain_name = split_address(address)
        address = f"{local.lower()}@{domain_name}" if hosted_domain(domain_name) else address
        try:
            check_destination(customer, address, own_address=own_address)
        except ValidationError as error:
            errors.append(error)
            continue
        if address not in cleaned:
            cleaned.append(address)
    if errors:
        raise ValidationError(errors)
    if len(cleaned) > MAX_DESTINATIONS:
        raise ValidationError(_("At most %(max)d destinations.") % {"max": MAX_DESTINATIONS}, code="too_many")
    return cleaned


def hosted_domain(domain_name: str) -> Domain | None:
    return Domain.objects.filter(name=domain_name).first()


def check_destination(customer: Customer, address: str, *, own_address: str) -> None:
    local, domain_name = split_address(address)
    if address == own_address:
        raise ValidationError(_("An address cannot deliver to itself."), code="self")
    domain = hosted_domain(domain_name)
    if domain is None:
        return
    if domain.customer_id != customer.pk:
        raise ValidationError(
            _("%(address)s is hosted here for another customer; you cannot deliver to it.")
            % {"address": address},
            code="other_customer",
        )
    exists = (
        Mailbox.objects.filter(domain=domain, local_part=local, deleted_at__isnull=True).exists()
        or Alias.objects.filter(domain=domain, local_part=local).exists()
        or local in ROUTED_LOCAL_PARTS
    )
    if not exists:
        raise ValidationError(
            _("%(address)s is not one of your mailboxes or aliases.") % {"address": address},
            code="unknown",
        )


def delivery_graph(customer: Customer) -> dict[str, list[str]]:
    """Address → where mail for it goes next, for the customer's aliases and forwarding mailboxes."""
    graph: dict[str, list[str]] = {}
    for local, domain, destinations in Alias.objects.filter(customer=customer, is_enabled=True).values_list(
        "local_part", "domain__name", "destinations"
    ):
        graph[f"{local}@{domain}"] = list(destinations)
    forwarding = Mailbox.objects.filter(customer=customer, deleted_at__isnull=True).exclude(forward_to=[])
    for local, domain, forward_to in forwarding.values_list("local_part", "domain__name", "forward_to"):
        graph.setdefault(f"{local}@{domain}", []).extend(forward_to)
    routing = Domain.objects.filter(customer=customer).values_list(
        "name",
        "postmaster_to__local_part",
        "postmaster_to__domain__name",
        "abuse_to__local_part",
        "abuse_to__domain__name",
    )
    for name, postmaster_local, postmaster_domain, abuse_local, abuse_domain in routing:
        if postmaster_local:
            graph.setdefault(f"postmaster@{name}", []).append(f"{postmaster_local}@{postmaster_domain}")
        if abuse_local:
            graph.setdefault(f"abuse@{name}", []).append(f"{abuse_local}@{abuse_domain}")
    return graph


def find_cycle(graph: dict[str, list[str]], start: str) -> list[str] | None:
    """The path by which `start` reaches itself again, or None (depth-first, each address once)."""
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        address, path = stack.pop()
        for following in graph.get(address, []):
            if following == start:
                return [*path, start]
            if following not in seen:
                seen.add(following)
                stack.append((following, [*path, following]))
    return None


def check_no_cycle(customer: Customer, address: str, destinations: list[str], *, field: str) -> None:
    graph = delivery_graph(customer)
    graph[address] = destinations
    cycle = find_cycle(graph, address)
    if cycle:
        raise ValidationError(
            {field: _("This would make a loop: %(path)s.") % {"path": " → ".join(cycle)}}, code="cycle"
        )


# The storage pool ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolSummary:
    storage_bytes: int
    allocated_bytes: int
    used_bytes: int
    mailbox_count: int

    @property
    def free_bytes(self) -> int:
        return max(0, self.storage_bytes - self.allocated_bytes)

    @property
    def suggested_quota_bytes(self) -> int:
        return min(DEFAULT_QUOTA_BYTES, self.free_bytes)


def pool_summary(customer: Customer) -> PoolSummary:
    """The customer's storage pool: what the plan gives (storage), what is shared out as mailbox quotas
    (allocated), what mail fills (used) and what is still free to allocate."""
    totals = Mailbox.objects.filter(customer=customer, deleted_at__isnull=True).aggregate(
        allocated=Sum("quota_bytes"), used=Sum("used_bytes"), count=Count("pk")
    )
    return PoolSummary(
        storage_bytes=customer.plan.storage_bytes,
        allocated_bytes=totals["allocated"] or 0,
        used_bytes=totals["used"] or 0,
        mailbox_count=totals["count"] or 0,
    )


def lock_customer(customer: Customer) -> None:
    """Serialise a customer's address and pool changes (a row lock on PostgreSQL; SQLite locks the file)."""
    Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk", flat=True).first()


def check_quota_fits(customer: Customer, quota_bytes: int, *, replacing: int = 0) -> None:
    """Refuse a quota below the minimum or beyond what is left of the pool, saying what does fit."""
    if quota_bytes < MIN_QUOTA_BYTES:
        raise ValidationError(
            {"quota_mb": _("The quota must be at least %(min)d MB.") % {"min": MIN_QUOTA_BYTES // MB}}
        )
    lock_customer(customer)
    available = pool_summary(customer).free_bytes + replacing
    if quota_bytes > available:
        raise ValidationError(
            {
                "quota_mb": _(
                    "That does not fit in your plan's storage: at most %(available)d MB is left "
                    "(plan %(plan)d MB). Choose %(available)d MB or less, or make another mailbox smaller."
                )
                % {"available": available // MB, "plan": customer.plan.storage_bytes // MB}
            }
        )


# Passwords -------------------------------------------------------------------------------------------


def check_mailbox_password(password: str, *, local_part: str, address: str, display_name: str = "") -> None:
    """Django's password validators, and not the address or the part before the @."""
    lowered = password.lower()
    if address in lowered or (len(local_part) >= 3 and local_part in lowered):
        raise ValidationError(
            {"password1": _("The password must not contain the mailbox's address.")}, code="contains_address"
        )
    # An unsaved user: the similarity validator reads verbose names from a real model's _meta.
    person = get_user_model()(email=address, first_name=display_name[:150], last_name=local_part)
    try:
        validate_password(password, user=person)
    except ValidationError as error:
        raise ValidationError({"password1": error.messages}) from None


# Mailboxes -------------------------------------------------------------------------------------------


@transaction.atomic
def create_mailbox(
    *,
    actor: Actor,
    customer: Customer,
    domain: Domain,
    local_part: str,
    quota_bytes: int,
    display_name: str = "",
    password: str | None = None,
) -> tuple[Mailbox, str | None]:
    """Create a mailbox; returns it and the generated password when none was chosen (shown once)."""
    lock_customer(customer)
    check_domain_usable(customer, domain)
    local = local_part_for_field(local_part, for_mailbox=True)
    check_address_free(domain, local)
    address = f"{local}@{domain.name}"
    if password is not None:
        check_mailbox_password(password, local_part=local, address=address, display_name=display_name)
    check_quota_fits(customer, quota_bytes)
    generated = passwords.generate_password() if password is None else None
    mailbox = Mailbox(
        customer=customer,
        domain=domain,
        local_part=local,
        display_name=display_name.strip(),
        password_hash=passwords.hash_password(password if password is not None else generated),
        quota_bytes=quota_bytes,
    )
    mark_changed(mailbox, host=domain.mailhost)
    mailbox.save()
    route_role_addresses_if_unset(domain, mailbox)
    record(
        actor,
        "mailbox.create",
        customer=customer,
        obj=mailbox,
        changes={"quota_bytes": quota_bytes, "password": "generated" if generated else "chosen"},
    )
    return mailbox, generated


def route_role_addresses_if_unset(domain: Domain, mailbox: Mailbox) -> None:
    """The first mailbox of a domain receives its postmaster@ and abuse@ until the owner picks another."""
    changed = []
    if domain.postmaster_to_id is None:
        domain.postmaster_to = mailbox
        changed.append("postmaster_to")
    if domain.abuse_to_id is None:
        domain.abuse_to = mailbox
        changed.append("abuse_to")
    if changed:
        mark_changed(domain, host=domain.mailhost)
        domain.save(update_fields=[*changed, "revision"])


@transaction.atomic
def update_mailbox(
    *, actor: Actor, mailbox: Mailbox, display_name: str, quota_bytes: int, is_enabled: bool
) -> Mailbox:
    check_not_deleted(mailbox)
    if quota_bytes != mailbox.quota_bytes:
        check_quota_fits(mailbox.customer, quota_bytes, replacing=mailbox.quota_bytes)
    if quota_bytes < mailbox.quota_bytes and quota_bytes < mailbox.used_bytes:
        raise ValidationError(
            {
                "quota_mb": _(
                    "This mailbox already holds %(used)d MB; choose at least that much, or delete mail first."
                )
                % {"used": -(-mailbox.used_bytes // MB)}
            }
        )
    changes = diff(
        mailbox,
        {"display_name": display_name.strip(), "quota_bytes": quota_bytes, "is_enabled": is_enabled},
    )
    if changes:
        for field, (_old, new) in changes.items():
            setattr(mailbox, field, new)
        mark_changed(mailbox, host=mailbox.domain.mailhost)
        mailbox.save(update_fields=[*changes, "revision"])
        record(actor, "mailbox.update", customer=mailbox.customer, obj=mailbox, changes=changes)
    return mailbox


def diff(obj, values: dict) -> dict:
    return {field: (getattr(obj, field), new) for field, new in values.items() if getattr(obj, field) != new}


def check_not_deleted(mailbox: Mailbox) -> None:
    if mailbox.deleted_at is not None:
        raise ValidationError(_("This mailbox is deleted; restore it first."), code="deleted")


@transaction.atomic
def set_mailbox_password(*, actor: Actor, mailbox: Mailbox, password: str | None = None) -> str | None:
    """Set a chosen password, or generate one (returned, to be shown once)."""
    if password is not None:
        check_mailbox_password(
            password,
            local_part=mailbox.local_part,
            address=mailbox.address,
            display_name=mailbox.display_name,
        )
    generated = passwords.generate_password() if password is None else None
    mailbox.password_hash = passwords.hash_password(password if password is not None else generated)
    mark_changed(mailbox, host=mailbox.domain.mailhost)
    mailbox.save(update_fields=["password_hash", "revision"])
    record(
        actor,
        "mailbox.password",
        customer=mailbox.customer,
        obj=mailbox,
        changes={"password": "generated" if generated else "chosen"},
    )
    return generated


@transaction.atomic
def disable_mailbox(*, actor: Actor, mailbox: Mailbox) -> Mailbox:
    if mailbox.is_enabled:
        mailbox.is_enabled = False
        mark_changed(mailbox, host=mailbox.domain.mailhost)
        mailbox.save(update_fields=["is_enabled", "revision"])
        record(actor, "mailbox.disable", customer=mailbox.customer, obj=mailbox)
    return mailbox


@transaction.atomic
def set_forwarding(*, actor: Actor, mailbox: Mailbox, forward_to: list[str], keep_copy: bool) -> Mailbox:
    check_not_deleted(mailbox)
    try:
        cleaned = clean_destinations(mailbox.customer, forward_to, own_address=mailbox.address)
    except ValidationError as error:
        raise ValidationError({"forward_to": error.messages}) from None
    check_no_cycle(mailbox.customer, mailbox.address, cleaned, field="forward_to")
    changes = diff(mailbox, {"forward_to": cleaned, "forward_keep_copy": keep_copy})
    if changes:
        mailbox.forward_to, mailbox.forward_keep_copy = cleaned, keep_copy
        mark_changed(mailbox, host=mailbox.domain.mailhost)
        mailbox.save(update_fields=["forward_to", "forward_keep_copy", "revision"])
        record(actor, "mailbox.forwarding", customer=mailbox.customer, obj=mailbox, changes=changes)
    return mailbox


def domains_routed_to(mailbox: Mailbox) -> list[Domain]:
    """Domains whose postmaster@, abuse@ or catch-all delivers to this mailbox."""
    return list(
        Domain.objects.filter(
            Q(postmaster_to=mailbox) | Q(abuse_to=mailbox) | Q(catch_all_to=mailbox)
        ).order_by("name")
    )


def restore_deadline(mailbox: Mailbox) -> datetime | None:
    if mailbox.deleted_at is None:
        return None
    return mailbox.deleted_at + timedelta(days=settings.MAILBOX_RETENTION_DAYS)


@transaction.atomic
def delete_mailbox(*, actor: Actor, mailbox: Mailbox) -> Mailbox:
    """Disable at once and keep the data for MAILBOX_RETENTION_DAYS; `purge_deleted_mailboxes` ends it."""
    check_not_deleted(mailbox)
    mailbox.deleted_at = timezone.now()
    mailbox.is_enabled = False
    mark_changed(mailbox, host=mailbox.domain.mailhost)
    mailbox.save(update_fields=["deleted_at", "is_enabled", "revision"])
    record(actor, "mailbox.delete", customer=mailbox.customer, obj=mailbox)
    return mailbox


@transaction.atomic
def restore_mailbox(*, actor: Actor, mailbox: Mailbox) -> Mailbox:
    if mailbox.deleted_at is None:
        return mailbox
    if timezone.now() >= restore_deadline(mailbox):
        raise ValidationError(_("This mailbox was deleted too long ago to restore."), code="expired")
    try:
        check_quota_fits(mailbox.customer, mailbox.quota_bytes)
    except ValidationError:
        raise ValidationError(
            _(
                "Restoring needs %(quota)d MB of storage, but only %(available)d MB is left. "
                "Make another mailbox smaller first."
            )
            % {
                "quota": mailbox.quota_bytes // MB,
                "available": pool_summary(mailbox.customer).free_bytes // MB,
            },
            code="no_room",
        ) from None
    mailbox.deleted_at = None
    mailbox.is_enabled = True
    mark_changed(mailbox, host=mailbox.domain.mailhost)
    mailbox.save(update_fields=["deleted_at", "is_enabled", "revision"])
    record(actor, "mailbox.restore", customer=mailbox.customer, obj=mailbox)
    return mailbox


def purge_deleted_mailboxes(*, now: datetime | None = None) -> int:
    """Remove mailboxes deleted longer ago than the retention, and their mail folders. Safe to run twice."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.MAILBOX_RETENTION_DAYS)
    due = Mailbox.objects.filter(deleted_at__lt=cutoff).select_related("domain__mailhost", "customer")
    purged = 0
    for mailbox in due.iterator(chunk_size=500):
        purge_mailbox(mailbox=mailbox)
        purged += 1
    return purged


@transaction.atomic
def purge_mailbox(*, mailbox: Mailbox) -> None:
    """1. drop the address from the customer's aliases (an alias left without destinations goes too)
       and from other mailboxes' forwards;
    2. delete the row and bump the host's revision so it renders without the mailbox;
    3. after commit, remove the mail folder."""
    address = mailbox.address
    for alias in Alias.objects.filter(customer=mailbox.customer).select_related("domain__mailhost"):
        if address not in alias.destinations:
            continue
        alias.destinations = [d for d in alias.destinations if d != address]
        if alias.destinations:
            mark_changed(alias, host=alias.domain.mailhost)
            alias.save(update_fields=["destinations", "revision"])
        else:
            record(Actor.system(), "alias.delete", customer=alias.customer, obj=alias)
            alias.delete()
            bump_revision(alias.domain.mailhost)
    forwarding = (
        Mailbox.objects.filter(customer=mailbox.customer).exclude(pk=mailbox.pk).exclude(forward_to=[])
    )
    for forwarder in forwarding.select_related("domain__mailhost"):
        if address in forwarder.forward_to:
            forwarder.forward_to = [d for d in forwarder.forward_to if d != address]
            mark_changed(forwarder, host=forwarder.domain.mailhost)
            forwarder.save(update_fields=["forward_to", "revision"])
    record(Actor.system(), "mailbox.purge", customer=mailbox.customer, obj=mailbox)
    host = mailbox.domain.mailhost
    Mailbox.objects.filter(pk=mailbox.pk).delete()
    bump_revision(host)
    transaction.on_commit(lambda: usage.remove_mail_folder(mailbox))


# Aliases ---------------------------------------------------------------------------------------------


def clean_alias_destinations(customer: Customer, destinations: list[str], *, own_address: str) -> list[str]:
    try:
        cleaned = clean_destinations(customer, destinations, own_address=own_address)
    except ValidationError as error:
        raise ValidationError({"destinations": error.messages}) from None
    if not cleaned:
        raise ValidationError({"destinations": _("Enter at least one destination address.")})
    check_no_cycle(customer, own_address, cleaned, field="destinations")
    return cleaned


@transaction.atomic
def create_alias(
    *,
    actor: Actor,
    customer: Customer,
    domain: Domain,
    local_part: str,
    destinations: list[str],
    is_enabled: bool = True,
) -> Alias:
    lock_customer(customer)
    check_domain_usable(customer, domain)
    local = local_part_for_field(local_part, for_mailbox=False)
    check_address_free(domain, local)
    address = f"{local}@{domain.name}"
    cleaned = clean_alias_destinations(customer, destinations, own_address=address)
    alias = Alias(
        customer=customer, domain=domain, local_part=local, destinations=cleaned, is_enabled=is_enabled
    )
    mark_changed(alias, host=domain.mailhost)
    alias.save()
    record(actor, "alias.create", customer=customer, obj=alias, changes={"destinations": cleaned})
    return alias


@transaction.atomic
def update_alias(*, actor: Actor, alias: Alias, destinations: list[str], is_enabled: bool) -> Alias:
    cleaned = clean_alias_destinations(alias.customer, destinations, own_address=alias.address)
    changes = diff(alias, {"destinations": cleaned, "is_enabled": is_enabled})
    if changes:
        alias.destinations, alias.is_enabled = cleaned, is_enabled
        mark_changed(alias, host=alias.domain.mailhost)
        alias.save(update_fields=["destinations", "is_enabled", "revision"])
        record(actor, "alias.update", customer=alias.customer, obj=alias, changes=changes)
    return alias


@transaction.atomic
def disable_alias(*, actor: Actor, alias: Alias) -> Alias:
    if alias.is_enabled:
        alias.is_enabled = False
        mark_changed(alias, host=alias.domain.mailhost)
        alias.save(update_fields=["is_enabled", "revision"])
        record(actor, "alias.disable", customer=alias.customer, obj=alias)
    return alias


@transaction.atomic
def delete_alias(*, actor: Actor, alias: Alias) -> None:
    record(actor, "alias.delete", customer=alias.customer, obj=alias)
    host = alias.domain.mailhost
    alias.delete()
    bump_revision(host)


# Domain routing: catch-all, postmaster@, abuse@ ------------------------------------------------------


@transaction.atomic
def set_domain_routing(
    *,
    actor: Actor,
    domain: Domain,
    catch_all_to: Mailbox | None,
    postmaster_to: Mailbox | None,
    abuse_to: Mailbox | None,
) -> Domain:
    for field, target in (
        ("catch_all_to", catch_all_to),
        ("postmaster_to", postmaster_to),
        ("abuse_to", abuse_to),
    ):
        if target is not None and (target.customer_id != domain.customer_id or target.deleted_at is not None):
            raise ValidationError({field: _("Choose one of your mailboxes.")})
    for field, target in (("postmaster_to", postmaster_to), ("abuse_to", abuse_to)):
        if target is None:
            raise ValidationError({field: _("Every domain needs this address (RFC 2142); choose a mailbox.")})
    values = {
        "catch_all_to_id": pk_of(catch_all_to),
        "postmaster_to_id": pk_of(postmaster_to),
        "abuse_to_id": pk_of(abuse_to),
    }
    changes = diff(domain, values)
    if changes:
        for field, (_old, new) in changes.items():
            setattr(domain, field, new)
        mark_changed(domain, host=domain.mailhost)
        domain.save(update_fields=[*(f.removesuffix("_id") for f in changes), "revision"])
        record(actor, "domain.routing", customer=domain.customer, obj=domain, changes=changes)
    return domain


def pk_of(obj) -> int | None:
    return obj.pk if obj is not None else None


# Autoresponders --------------------------------------------------------------------------------------


@transaction.atomic
def save_autoresponder(
    *,
    actor: Actor,
    mailbox: Mailbox,
    is_enabled: bool,
    subject: str,
    body: str,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    interval_days: int = 1,
) -> Autoresponder:
    check_not_deleted(mailbox)
    check_autoresponder(is_enabled, subject, body, starts_at, ends_at, interval_days)
    autoresponder = Autoresponder.objects.filter(mailbox=mailbox).first() or Autoresponder(mailbox=mailbox)
    values = {
        "is_enabled": is_enabled,
        "subject": subject,
        "body": body,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "interval_days": interval_days,
    }
    changes = diff(autoresponder, values) if autoresponder.pk else {k: (None, v) for k, v in values.items()}
    if not changes:
        return autoresponder
    for field, value in values.items():
        setattr(autoresponder, field, value)
    autoresponder.updated_at = timezone.now()
    mark_changed(autoresponder, host=mailbox.domain.mailhost)
    autoresponder.save()
    record(
        actor,
        "autoresponder.save",
        customer=mailbox.customer,
        obj=autoresponder,
        changes={k: [str(old), str(new)] for k, (old, new) in changes.items() if k != "body"},
    )
    return autoresponder


def check_autoresponder(is_enabled, subject, body, starts_at, ends_at, interval_days) -> None:
    errors = {}
    if is_enabled and not subject.strip():
        errors["subject"] = _("Enter a subject for the reply.")
    if is_enabled and not body.strip():
        errors["body"] = _("Enter the text of the reply.")
    if len(body) > AUTORESPONDER_MAX_BODY:
        errors["body"] = _("The message can be at most %(max)d characters.") % {"max": AUTORESPONDER_MAX_BODY}
    if len(subject) > Autoresponder._meta.get_field("subject").max_length:
        errors["subject"] = _("The subject is too long.")
    if starts_at and ends_at and ends_at <= starts_at:
        errors["ends_at"] = _("The end must be after the start.")
    if not 1 <= interval_days <= AUTORESPONDER_MAX_DAYS:
        errors["interval_days"] = _("Choose between 1 and %(max)d days.") % {"max": AUTORESPONDER_MAX_DAYS}
    if errors:
        raise ValidationError(errors)


# Usage and quota warnings ----------------------------------------------------------------------------


def warning_level(used_bytes: int, quota_bytes: int) -> int:
    """95, 80 or 0: the highest warning threshold the usage has reached."""
    if quota_bytes <= 0:
        return 0
    for level in QUOTA_WARNING_LEVELS:
        if used_bytes * 100 >= quota_bytes * level:
            return level
    return 0


def record_usage(*, mailbox: Mailbox, used_bytes: int, measured_at: datetime | None = None) -> bool:
    """Store a measurement; e-mail the owners when usage crosses 80% or 95% (once per crossing).

    Returns True when a warning was sent. The level is claimed with a conditional UPDATE, so two
    measurements racing each other send one e-mail.
    """
    measured_at = measured_at or timezone.now()
    level = warning_level(used_bytes, mailbox.quota_bytes)
    Mailbox.objects.filter(pk=mailbox.pk).update(used_bytes=used_bytes, usage_measured_at=measured_at)
    mailbox.used_bytes, mailbox.usage_measured_at = used_bytes, measured_at
    if level == mailbox.quota_warning_level:
        return False
    claimed = Mailbox.objects.filter(pk=mailbox.pk, quota_warning_level=mailbox.quota_warning_level).update(
        quota_warning_level=level
    )
    rising = level > mailbox.quota_warning_level
    mailbox.quota_warning_level = level
    if claimed and rising:
        send_quota_warning(mailbox, level)
        return True
    return False


def send_quota_warning(mailbox: Mailbox, level: int) -> None:
    owners = list(
        Membership.objects.filter(customer_id=mailbox.customer_id, role=Membership.Role.OWNER).values_list(
            "user__email", flat=True
        )
    )
    if not owners:
        return
    context = {
        "mailbox": mailbox,
        "address": mailbox.unicode_address,
        "level": level,
        "used_bytes": mailbox.used_bytes,
        "quota_bytes": mailbox.quota_bytes,
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "mailbox_url": settings.SITE_URL.rstrip("/")
        + reverse("mailaccounts:mailbox_detail", args=[mailbox.pk]),
    }
    with translation.override(mailbox.customer.language or settings.LANGUAGE_CODE):
        subject = render_to_string("mailaccounts/email/quota_warning_subject.txt", context).strip()
        message = render_to_string("mailaccounts/email/quota_warning_message.txt", context)
        html_message = render_to_string("mailaccounts/email/quota_warning_message.html", context)
    send_mail(
        subject=" ".join(subject.splitlines()),
        message=message,
        html_message=html_message,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=owners,
    )


def measure_usage(*, mailboxes=None, batch_size: int = 1000) -> int:
    """Measure every live mailbox's Maildir on disk and record it. Returns how many were measured.

    Plain measurements are written in batches; a mailbox whose warning level changes goes through
    `record_usage`, which claims the level and sends the e-mail.
    """
    if mailboxes is None:
        mailboxes = Mailbox.objects.filter(deleted_at__isnull=True)
    measured_at = timezone.now()
    batch: list[Mailbox] = []
    count = 0
    for mailbox in mailboxes.select_related("domain__mailhost").iterator(chunk_size=batch_size):
        used_bytes = usage.measure_mailbox(mailbox)
        count += 1
        if warning_level(used_bytes, mailbox.quota_bytes) != mailbox.quota_warning_level:
            record_usage(mailbox=mailbox, used_bytes=used_bytes, measured_at=measured_at)
            continue
        mailbox.used_bytes, mailbox.usage_measured_at = used_bytes, measured_at
        batch.append(mailbox)
        if len(batch) >= batch_size:
            Mailbox.objects.bulk_update(batch, ["used_bytes", "usage_measured_at"])
            batch = []
    if batch:
        Mailbox.objects.bulk_update(batch, ["used_bytes", "usage_measured_at"])
    return count


# Lists -----------------------------------------------------------------------------------------------

MAILBOX_SORTS = {
    "address": ("domain__name", "local_part"),
    "quota": ("quota_bytes", "domain__name", "local_part"),
    "usage": ("used_bytes", "domain__name", "local_part"),
    "created": ("created_at", "id"),
}
ALIAS_SORTS = {
    "address": ("domain__name", "local_part"),
    "created": ("created_at", "id"),
}


def address_search(queryset, query: str):
    """Filter by address: "jan" matches local parts and domains, "jan@bak" the two halves."""
    query = query.replace("\x00", "").strip().lower()  # PostgreSQL text cannot hold NUL
    if not query:
        return queryset
    if "@" in query:
        local, _at, domain = query.partition("@")
        return queryset.filter(local_part__startswith=local, domain__name__startswith=domain)
    return queryset.filter(Q(local_part__contains=query) | Q(domain__name__contains=query))


def ordering(sorts: dict, sort: str) -> tuple[str, list[str]]:
    """A known sort key (optionally "-" for descending) and its order_by fields; defaults to address."""
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    if key not in sorts:
        key, descending = "address", False
    fields = [f"-{field}" if descending else field for field in sorts[key]]
    return ("-" if descending else "") + key, fields


def mailbox_list(customer: Customer, *, query: str = "", sort: str = "address", deleted: bool = False):
    mailboxes = Mailbox.objects.for_customer(customer).select_related("domain__mailhost")
    mailboxes = mailboxes.deleted() if deleted else mailboxes.active()
    sort, fields = ordering(MAILBOX_SORTS, sort)
    return address_search(mailboxes, query).order_by(*fields), sort


def alias_list(customer: Customer, *, query: str = "", sort: str = "address"):
    aliases = Alias.objects.for_customer(customer).select_related("domain__mailhost")
    sort, fields = ordering(ALIAS_SORTS, sort)
    return address_search(aliases, query).order_by(*fields), sort
