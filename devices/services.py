"""Device set-up and shared collections: the operations views, the admin and commands call."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mailaccounts.models import Domain, Mailbox
from mailhosts.revisions import mark_changed
from tenants.audit import Actor, record
from tenants.emails import send_customer_email, site_link

from .clients import Client, facts, steps_with_values
from .models import ProfileLink, SharedCollections

TOKEN_BYTES = 32


@transaction.atomic
def create_profile_link(*, actor: Actor, mailbox: Mailbox) -> tuple[ProfileLink, str]:
    """A one-time link to the mailbox's signed profile; returns the link and its token (shown only now).

    Links of the mailbox that expired more than a day ago are removed on the way."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    ProfileLink.objects.filter(mailbox=mailbox, expires_at__lt=now - timedelta(days=1)).delete()
    link = ProfileLink.objects.create(
        mailbox=mailbox,
        token_hash=ProfileLink.hash_token(token),
        created_at=now,
        expires_at=now + timedelta(minutes=settings.DEVICE_PROFILE_LINK_MINUTES),
    )
    record(actor, "devices.profile_link", customer=mailbox.customer, obj=mailbox)
    return link, token


def claim_profile_link(*, mailbox_id: int, token: str) -> Mailbox | None:
    """The mailbox whose profile the link opens, if it is unused, unexpired and of that mailbox; the link
    is used up by this call (a conditional UPDATE, so two devices cannot both use it)."""
    claimed = (
        ProfileLink.objects.usable()
        .filter(
            mailbox_id=mailbox_id, token_hash=ProfileLink.hash_token(token), mailbox__deleted_at__isnull=True
        )
        .update(used_at=timezone.now())
    )
    if claimed != 1:
        return None
    return Mailbox.objects.select_related("domain__mailhost", "customer").get(pk=mailbox_id)


def shared_collections_for(domain: Domain) -> SharedCollections:
    try:
        return domain.shared_collections
    except SharedCollections.DoesNotExist:
        return SharedCollections(domain=domain)


@transaction.atomic
def set_shared_collections(*, actor: Actor, domain: Domain, enabled: bool) -> SharedCollections:
    """Switch the domain's company calendar and address book on or off (the data stays when off)."""
    shared = shared_collections_for(domain)
    if shared.pk and shared.is_enabled == enabled:
        return shared
    shared.is_enabled = enabled
    shared.changed_at = timezone.now()
    shared.save()
    mark_changed(shared, host=domain.mailhost)
    record(
        actor,
        "devices.shared_collections",
        customer=domain.customer,
        obj=domain,
        changes={"shared_collections": [not enabled, enabled]},
    )
    return shared


def send_device_instructions(*, actor: Actor, mailbox: Mailbox, client: Client) -> None:
    """E-mail the steps for one program to the mailbox itself, in the customer's language (never with a
    password: the panel does not have it)."""
    send_customer_email(
        customer=mailbox.customer,
        name="devices/email/instructions",
        context={
            "mailbox": mailbox,
            "address": mailbox.unicode_address,
            "client": client,
            "steps": steps_with_values(client, facts(mailbox)),  # lazy texts, rendered in that language
            "device_url": site_link("devices:device_setup", mailbox.pk),
        },
        to=[mailbox.address],
    )
    record(
        actor,
        "devices.instructions_sent",
        customer=mailbox.customer,
        obj=mailbox,
        changes={"client": client.key},
    )
