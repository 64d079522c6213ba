"""Mailboxes: creating, changing, passwords, forwarding, disabling, deleting, restoring and purging."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from mailhosts.revisions import bump_revision, mark_changed
from tenants.audit import Actor, record
from tenants.models import Customer

from .. import passwords, usage
from ..models import Alias, Domain, Mailbox
from . import logins
from .addresses import (
    check_address_free,
    check_domain_usable,
    check_no_cycle,
    clean_destinations,
    local_part_for_field,
)
from .storage import MB, check_quota_fits, lock_customer, pool_summary

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
    chosen = password if password is not None else generated or ""
    mailbox = Mailbox(
        customer=customer,
        domain=domain,
        local_part=local,
        display_name=display_name.strip(),
        password_hash=passwords.hash_password(chosen),
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
        # A quota (or a name) is the mailbox's own line of Dovecot's users; switching it off or on is more.
        scope = mailbox.mailhost_scope if "is_enabled" in changes else mailbox.login_scope
        mark_changed(mailbox, host=mailbox.domain.mailhost, scope=scope)
        mailbox.save(update_fields=[*changes, "revision"])
        record(actor, "mailbox.update", customer=mailbox.customer, obj=mailbox, changes=changes)
    return mailbox


def diff(obj, values: dict) -> dict:
    return {field: (getattr(obj, field), new) for field, new in values.items() if getattr(obj, field) != new}


def check_not_deleted(mailbox: Mailbox) -> None:
    if mailbox.deleted_at is not None:
        raise ValidationError(_("This mailbox is deleted; restore it first."), code="deleted")


@transaction.atomic
def set_mailbox_password(
    *, actor: Actor, mailbox: Mailbox, password: str | None = None, via: str = ""
) -> str | None:
    """Set a chosen password, or generate one (returned, to be shown once). `via` names where the change
    was made when not in the panel ("webmail"), for the activity log."""
    if password is not None:
        check_mailbox_password(
            password,
            local_part=mailbox.local_part,
            address=mailbox.address,
            display_name=mailbox.display_name,
        )
    generated = passwords.generate_password() if password is None else None
    chosen = password if password is not None else generated or ""
    mailbox.password_hash = passwords.hash_password(chosen)
    mark_changed(mailbox, host=mailbox.domain.mailhost, scope=mailbox.login_scope)
    mailbox.save(update_fields=["password_hash", "revision"])
    logins.end_sessions(mailbox)  # the old password's panel sessions end with it
    record(
        actor,
        "mailbox.password",
        customer=mailbox.customer,
        obj=mailbox,
        changes={"password": "generated" if generated else "chosen", **({"via": via} if via else {})},
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
    deadline = restore_deadline(mailbox)
    if deadline is not None and timezone.now() >= deadline:
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
            bump_revision(alias.domain.mailhost, scope=alias.domain.name)
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
    logins.delete_login_user(mailbox)
    Mailbox.objects.filter(pk=mailbox.pk).delete()
    bump_revision(host, scope=mailbox.domain.name)
    transaction.on_commit(lambda: usage.remove_mail_folder(mailbox))
