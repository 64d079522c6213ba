"""Aliases and a domain's routing (catch-all, postmaster@, abuse@)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from mailhosts.revisions import bump_revision, mark_changed
from tenants.audit import Actor, record
from tenants.models import Customer

from ..models import Alias, Domain, Mailbox
from .addresses import (
    check_address_free,
    check_domain_usable,
    check_no_cycle,
    clean_destinations,
    local_part_for_field,
)
from .mailboxes import diff
from .storage import lock_customer

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
    scope = alias.domain.name
    alias.delete()
    bump_revision(host, scope=scope)


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
