"""Address rules: local parts, outside addresses, who holds an address, forwarding destinations and loops."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from tenants.addresses import normalize_email_address
from tenants.models import Customer

from ..models import Alias, Domain, Mailbox

MAX_DESTINATIONS = 50
MAX_ADDRESS_LENGTH = 254
MAX_LOCAL_PART_OCTETS = 64

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

# Addresses hosted here are stricter than RFC 5321's dot-atom allows: letters, digits and . - _ +, starting with a
# letter or digit. No "*" (it looks like a catch-all and is not one), no "$" "{" "}" (expansion syntax in
# the mail programs' configuration), no leading "-" (it reads as an option to doveadm and friends), no
# "=?...?=" (an encoded word, which mail programs would show decoded as something else).
HOSTED_LOCAL_PART = re.compile(r"\A[a-z0-9][a-z0-9_+-]*(?:\.[a-z0-9_+-]+)*\Z")


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
    if "*" in local:
        raise ValidationError(
            _(
                "“%(value)s” is not an address. To receive mail for every address of a domain, choose a "
                "mailbox under “Catch-all” in the domain's routing settings (Domains → the domain → Routing)."
            )
            % {"value": local},
            code="wildcard",
        )
    if not HOSTED_LOCAL_PART.match(local):
        raise ValidationError(
            _(
                "“%(value)s” is not a valid address: use letters, digits and . - _ +, starting with a "
                "letter or digit, without a dot at the end or two dots in a row."
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
    """A destination address, checked by the panel's one address rule (`tenants.addresses`): what is stored
    here always reaches the mail host."""
    return normalize_email_address(value)


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
    """The domain this panel routes mail for: only a verified one (an unverified claim routes nothing)."""
    return Domain.objects.verified().filter(name=domain_name).first()


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
