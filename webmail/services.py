"""Webmail: single sign-on links from the panel, and password changes made in webmail.

Single sign-on (the "Open webmail" button, for the mailbox's own user only):
1. `create_sso_token` makes a random token, stores only its SHA-256 and gives the token to the browser once,
   in the link to webmail (`sso_url`); it works for `WEBMAIL_SSO_SECONDS` (at most 60).
2. The mail host's webmail (deploy/roundcube/plugins/postbode) shows the token to the panel with the host's
   shared secret; `redeem_sso_token` uses it up with a conditional UPDATE, so it is accepted once, and answers
   with the mailbox it opens. `webmail_login` gives the webmail what it logs in with: the mailbox's mail host
   and a credential for that one mailbox on that host (webmail/credentials.py), which Dovecot checks itself.

Password changes from webmail (Roundcube's password plugin, driver `postbode`) go through
`change_password_from_webmail`: the current password is checked, wrong ones are rate-limited, and the change
is the panel's own `set_mailbox_password` (strength rules, audit, apply to the mail host).
"""

import hashlib
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mailaccounts.access import own_mailbox
from mailaccounts.models import Mailbox, MailboxUser
from mailaccounts.passwords import verify_password
from mailaccounts.services.logins import normalize_login_address
from mailaccounts.services.mailboxes import set_mailbox_password
from mailhosts.models import MailHost
from tenants.audit import Actor, record

from . import credentials
from .models import SsoToken

TOKEN_BYTES = 32
MAX_SSO_SECONDS = 60
MAX_TOKEN_LENGTH = 200


class PasswordChangeRefused(Exception):
    """Webmail's password change was refused; `status` for the HTTP answer, `message` for the user."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def sso_seconds() -> int:
    return max(1, min(settings.WEBMAIL_SSO_SECONDS, MAX_SSO_SECONDS))


def is_available() -> bool:
    return bool(settings.WEBMAIL_URL)


def may_open_webmail(user, mailbox: Mailbox) -> bool:
    """Only the mailbox's own user opens its webmail: owners and colleagues do not get into someone's mail.

    The mailbox's own user is its mailbox login (`own_mailbox`), or a panel user whose login address is the
    mailbox's address (that person has no separate mailbox login: the panel refuses one for a taken address)."""
    if user is None or not user.is_authenticated or mailbox.deleted_at is not None:
        return False
    own = own_mailbox(user)
    if own is not None:
        return own.pk == mailbox.pk
    return (user.email or "").strip().lower() == mailbox.address.lower()


@transaction.atomic
def create_sso_token(*, actor: Actor, mailbox: Mailbox) -> str:
    """A one-time token into the mailbox's webmail (returned once, stored as a hash). Tokens of any mailbox
    that expired more than a day ago are removed on the way."""
    if mailbox.deleted_at is not None or not mailbox.is_enabled:
        raise ValidationError(
            _("This mailbox is disabled; enable it before opening webmail."), code="disabled"
        )
    now = timezone.now()
    SsoToken.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    SsoToken.objects.create(
        mailbox=mailbox,
        token_hash=SsoToken.hash_token(token),
        created_by=actor.user,
        created_at=now,
        expires_at=now + timedelta(seconds=sso_seconds()),
    )
    record(actor, "mailbox.webmail_open", customer=mailbox.customer, obj=mailbox)
    return token


def sso_url(token: str) -> str:
    return f"{settings.WEBMAIL_URL.rstrip('/')}/?_sso={token}"


def redeem_sso_token(token: str) -> Mailbox | None:
    """The mailbox a token opens, when it is unused, unexpired and its mailbox enabled; the token is used up
    by this call (a conditional UPDATE: of two simultaneous tries, one wins)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    token_hash = SsoToken.hash_token(token)
    claimed = (
        SsoToken.objects.usable()
        .filter(token_hash=token_hash, mailbox__deleted_at__isnull=True, mailbox__is_enabled=True)
        .update(used_at=timezone.now())
    )
    if claimed != 1:
        return None
    return Mailbox.objects.select_related("domain__mailhost", "customer").get(
        webmail_tokens__token_hash=token_hash
    )


def webmail_login(mailbox: Mailbox) -> dict:
    """What the webmail logs in to the mailbox's own mail host with: its address, the host's name and a
    credential for this mailbox only (never its password)."""
    host = mailbox.domain.mailhost
    credential, expires = credentials.make_credential(
        host, mailbox.address, password_hash=mailbox.password_hash
    )
    return {"user": mailbox.address, "host": host.hostname, "password": credential, "expires": expires}


def wait_until_applied(mailbox: Mailbox, *, timeout: float) -> bool:
    """Wait (at most `timeout` seconds) until the mailbox's mail host has applied its last change; False when
    it has not by then, or its apply failed (it is retried, and shown as failed in the panel)."""
    deadline = time.monotonic() + timeout
    while True:
        applied, error = (
            MailHost.objects.filter(pk=mailbox.domain.mailhost_id)
            .values_list("applied_revision", "last_error")
            .get()
        )
        if applied >= mailbox.revision:
            return True
        if error or time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def mail_host_of(address: str) -> str | None:
    """The name of the mail host that serves an address's domain (for a login with the password), or None."""
    mailbox = mailbox_by_address(address)
    return mailbox.domain.mailhost.hostname if mailbox is not None else None


# Password changes from webmail ------------------------------------------------------------------------


def mailbox_by_address(address: str) -> Mailbox | None:
    parts = normalize_login_address(address)
    if parts is None:
        return None
    local, domain = parts
    return (
        Mailbox.objects.active()
        .filter(is_enabled=True, local_part=local, domain__name=domain)
        .select_related("domain__mailhost", "customer")
        .first()
    )


def failure_key(address: str) -> str:
    return "webmail:password-failures:" + hashlib.sha256(address.strip().lower().encode()).hexdigest()


def check_rate(address: str) -> None:
    if cache.get(failure_key(address), 0) >= settings.WEBMAIL_PASSWORD_FAILURES:
        raise PasswordChangeRefused(
            429, _("Too many wrong passwords. Wait a few minutes before you try again.")
        )


def count_failure(address: str) -> None:
    key = failure_key(address)
    if not cache.add(key, 1, settings.WEBMAIL_PASSWORD_FAILURE_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, settings.WEBMAIL_PASSWORD_FAILURE_SECONDS)


def webmail_actor(mailbox: Mailbox, ip_address: str | None) -> Actor:
    """Who changes a password in webmail: the mailbox's own user (their panel login, when they have one)."""
    link = MailboxUser.objects.select_related("user").filter(mailbox=mailbox).first()
    if link is None:
        return Actor(ip_address=ip_address)
    return Actor(user=link.user, ip_address=ip_address, is_mailbox_user=True)


def change_password_from_webmail(*, address: str, current: str, new: str, ip_address: str | None) -> Mailbox:
    """Check the current password (rate-limited per mailbox), then change it as the panel does."""
    check_rate(address)
    mailbox = mailbox_by_address(address)
    if mailbox is None or not verify_password(current, mailbox.password_hash):
        count_failure(address)
        raise PasswordChangeRefused(403, _("The current password is not right."))
    if new == current:
        raise PasswordChangeRefused(400, _("The new password is the same as the current one."))
    try:
        set_mailbox_password(
            actor=webmail_actor(mailbox, ip_address), mailbox=mailbox, password=new, via="webmail"
        )
    except ValidationError as error:
        raise PasswordChangeRefused(400, " ".join(error.messages)) from None
    cache.delete(failure_key(address))
    return mailbox
