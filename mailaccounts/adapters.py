"""allauth adapter: the panel's (tenants.adapters), and what differs for a mailbox's own user."""

from allauth.account.internal.stagekit import clear_login
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tenants.adapters import AccountAdapter as PanelAccountAdapter

from .access import own_mailbox

MAILBOX_BACKEND = "mailaccounts.auth.MailboxBackend"


class AccountAdapter(PanelAccountAdapter):
    def get_login_redirect_url(self, request):
        mailbox = own_mailbox(request.user)
        if mailbox is not None:
            return reverse("mailaccounts:mailbox_detail", args=[mailbox.pk])
        return super().get_login_redirect_url(request)

    def pre_login(self, request, user, **kwargs):
        """A mailbox user signs in only with the mailbox's password (MailboxBackend): never with a passkey
        alone or a password someone set on the panel user, so changing the mailbox password (or switching
        the login off) always locks them out."""
        if own_mailbox(user) is not None and getattr(user, "backend", "") != MAILBOX_BACKEND:
            clear_login(request)
            messages.error(request, gettext("Sign in with your mailbox address and its password."))
            return redirect("account_login")
        return super().pre_login(request, user, **kwargs)

    def validation_error(self, code, *args):
        """A right mailbox password that may not sign in says why, instead of "wrong password"."""
        refusal = getattr(self.request, "mailbox_login_refusal", None)
        if refusal and code.endswith("_password_mismatch"):
            return ValidationError(refusal, code="mailbox_login_refused")
        return super().validation_error(code, *args)

    def send_mail(self, template_prefix, email, context):
        """No password-reset link for a mailbox's own user: their one password is the mailbox's."""
        user = context.get("user")
        if template_prefix.startswith("account/email/password_reset") and own_mailbox(user) is not None:
            return
        super().send_mail(template_prefix, email, context)

    def set_password(self, user, password) -> None:
        if own_mailbox(user) is not None:
            raise PermissionDenied
        super().set_password(user, password)

    def get_reauthentication_methods(self, user) -> list[dict]:
        """A mailbox user confirms it is them with the mailbox password (allauth offers its password step
        only to users with a usable password of their own), before its e-mailed code."""
        methods = super().get_reauthentication_methods(user)
        if own_mailbox(user) is not None and not any(m["id"] == "reauthenticate" for m in methods):
            methods.insert(
                0,
                {
                    "id": "reauthenticate",
                    "description": _("Use your password"),
                    "url": reverse("account_reauthenticate"),
                },
            )
        return methods
