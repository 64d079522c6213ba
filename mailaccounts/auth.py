"""Signing in with a mailbox's address and its own password, on the panel's normal login form."""

from django.core.exceptions import ValidationError

from tenants.models import User

from .services import logins


class MailboxBackend:
    """A Django authentication backend, after the panel users' own: `authenticate(email=..., password=...)`
    checks the password against the mailbox's stored Dovecot hash and returns the panel user linked to the
    mailbox (made on first sign-in). allauth's login form calls it through its adapter, so the same rate
    limits and two-factor step apply. Why a right password is still refused (login switched off, mailbox
    off) is left on the request for the login form to show."""

    def authenticate(self, request, email=None, password=None, username=None, **credentials):
        address = email or username
        if not address or not password:
            return None
        mailbox = logins.check_mailbox_password(address, password)
        if mailbox is None:
            return None
        refusal = logins.panel_login_refusal(mailbox)
        if refusal is None:
            try:
                user = logins.mailbox_login_user(mailbox)
            except ValidationError as error:
                refusal = " ".join(error.messages)
        if refusal is not None:
            if request is not None:
                request.mailbox_login_refusal = refusal
            return None
        logins.note_sign_in(user)
        return user

    def get_user(self, user_id):
        return User.objects.filter(pk=user_id, is_active=True, mailbox_login__isnull=False).first()

    # Mailbox users hold no Django permissions (the admin is staff's).
    def has_perm(self, user_obj, perm, obj=None):
        return False

    def has_module_perms(self, user_obj, app_label):
        return False
