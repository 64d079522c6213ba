"""The panel login of a mailbox's own user: who may sign in, the linked panel user, and the owner's switch.

A mailbox user signs in on the panel's normal login form with the mailbox address and the mailbox's own
password (checked against its Dovecot hash by `mailaccounts.auth.MailboxBackend`). The panel user made for
them has no usable password and no membership; it is linked to the mailbox by a `MailboxUser` row.
"""

import idna
from allauth.account.models import EmailAddress
from allauth.core import ratelimit
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tenants.audit import Actor, record
from tenants.models import User

from .. import passwords
from ..models import Mailbox, MailboxUser

# Verifying against this when no mailbox matches takes as long as a real check, so the time a failed
# login takes does not tell whether the address is a mailbox.
_TIMING_HASH = passwords.hash_password("postbode-timing-equaliser")


def panel_login_refusal(mailbox: Mailbox) -> str | None:
    """Why the mailbox's own user may not use the panel now (a message for them), or None when they may."""
    if mailbox.deleted_at is not None or not mailbox.is_enabled:
        return _("This mailbox is switched off, so you cannot sign in with it.")
    if mailbox.customer.is_closed:
        return _("This account is closed, so you cannot sign in with its mailboxes.")
    if not mailbox.domain.is_verified:
        return _("This mailbox's domain is not in use yet, so you cannot sign in with it.")
    if not mailbox.panel_login_enabled:
        return _(
            "Signing in to the panel is switched off for this mailbox. Ask the owner of your account to "
            "switch it on."
        )
    return None


def normalize_login_address(address: str) -> tuple[str, str] | None:
    """(local part, ASCII domain) of what someone typed as their address, or None when it is no address."""
    local, at, domain = (address or "").strip().lower().rpartition("@")
    if not at or not local or not domain:
        return None
    try:
        return local, idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None


def find_mailbox(address: str) -> Mailbox | None:
    parts = normalize_login_address(address)
    if parts is None:
        return None
    local, domain = parts
    return (
        Mailbox.objects.active()
        .select_related("domain__mailhost", "customer__plan")
        .filter(local_part=local, domain__name=domain)
        .first()
    )


def check_mailbox_password(address: str, password: str) -> Mailbox | None:
    """The mailbox whose address and password these are, or None (taking as long either way)."""
    mailbox = find_mailbox(address)
    if mailbox is None:
        passwords.verify_password(password, _TIMING_HASH)
        return None
    return mailbox if passwords.verify_password(password, mailbox.password_hash) else None


def check_current_password(request, mailbox: Mailbox, password: str) -> None:
    """ValidationError unless `password` is the mailbox's. Wrong ones count against the same limit as
    wrong passwords on the login form (allauth's `login_failed`, per address), so the form is no way
    around it."""
    key = mailbox.address.lower()
    if not ratelimit.consume(request, action="login_failed", key=key, dry_run=True):
        message = _("Too many wrong passwords. Wait a few minutes and try again.")
        raise ValidationError({"current_password": ValidationError(message, code="too_many_attempts")})
    if not passwords.verify_password(password, mailbox.password_hash):
        ratelimit.consume(request, action="login_failed", key=key)
        message = _("That is not the current password of this mailbox.")
        raise ValidationError({"current_password": ValidationError(message, code="wrong_password")})


def address_taken_by_panel_user(mailbox: Mailbox) -> bool:
    """The address already signs in to the panel as a user of an account (an owner using their own
    mailbox's address, say): then that login is the one for it, and the mailbox gets no second one."""
    linked = MailboxUser.objects.filter(mailbox=mailbox).values("user_id")
    return (
        User.objects.filter(email__iexact=mailbox.address).exclude(pk__in=linked).exists()
        or EmailAddress.objects.filter(email__iexact=mailbox.address).exclude(user_id__in=linked).exists()
    )


def mailbox_login_user(mailbox: Mailbox) -> User:
    """The panel user linked to the mailbox, made on first sign-in: no usable password, no membership,
    its e-mail address (verified: the mailbox password proves it) the mailbox's."""
    link = MailboxUser.objects.select_related("user").filter(mailbox=mailbox).first()
    if link is not None:
        return link.user
    if address_taken_by_panel_user(mailbox):
        raise ValidationError(
            _("This address already signs in to the panel with its own password. Use that password."),
            code="taken",
        )
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=mailbox.address, password=None)
            EmailAddress.objects.create(user=user, email=mailbox.address, verified=True, primary=True)
            MailboxUser.objects.create(user=user, mailbox=mailbox)
    except IntegrityError:  # a second sign-in raced us to it
        return MailboxUser.objects.select_related("user").get(mailbox=mailbox).user
    return user


def note_sign_in(user: User) -> None:
    MailboxUser.objects.filter(user=user).update(last_login_at=timezone.now())


def end_sessions(mailbox: Mailbox) -> None:
    """Sign the mailbox's own user out everywhere (their password changed, or their login was switched
    off): a new unusable password changes the session hash every session is checked against."""
    link = MailboxUser.objects.select_related("user").filter(mailbox=mailbox).first()
    if link is not None:
        link.user.set_unusable_password()
        link.user.save(update_fields=["password"])


@transaction.atomic
def set_panel_login(*, actor: Actor, mailbox: Mailbox, enabled: bool) -> Mailbox:
    """The owner's switch: may this mailbox's own user sign in to the panel? Off ends their sessions."""
    if mailbox.panel_login_enabled == enabled:
        return mailbox
    mailbox.panel_login_enabled = enabled
    mailbox.save(update_fields=["panel_login_enabled"])
    if not enabled:
        end_sessions(mailbox)
    record(
        actor,
        "mailbox.panel_login_on" if enabled else "mailbox.panel_login_off",
        customer=mailbox.customer,
        obj=mailbox,
    )
    return mailbox


def delete_login_user(mailbox: Mailbox) -> None:
    """The linked panel user goes with the mailbox (purge), so the address can become anything later."""
    User.objects.filter(mailbox_login__mailbox=mailbox).delete()
