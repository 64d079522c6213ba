"""The mailbox's own user on each request: limited to their mailbox, signed out when it may no longer sign in."""

from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from .access import note_no_mailbox_login, own_mailbox
from .services.logins import panel_login_refusal

# allauth pages a mailbox's own user has no business on: their only password is the mailbox's (changed
# on their mailbox page), and their address is the mailbox's.
MAILBOX_USER_CLOSED_PREFIXES = ("/accounts/password/", "/accounts/email/")


class MailboxUserMiddleware:
    """After tenants' CustomerMiddleware. For a mailbox login it sets `request.own_mailbox` and
    `request.customer` (the mailbox's customer, for the suspension and two-factor rules) and leaves
    `request.membership` None; customer-wide views refuse them (`tenants.access.customer_required`).
    A session whose mailbox was disabled, deleted, closed or lost its panel login is signed out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.own_mailbox = None
        note_no_mailbox_login(request)
        mailbox = own_mailbox(request.user)
        if mailbox is not None:
            refusal = panel_login_refusal(mailbox)
            if refusal:
                logout(request)
                messages.error(request, refusal)
                return redirect("account_login")
            request.own_mailbox = mailbox
            request.membership = None
            request.customer = mailbox.customer
            if request.path.startswith(MAILBOX_USER_CLOSED_PREFIXES):
                if request.path.startswith("/accounts/password/"):
                    messages.info(request, _("Change the password of your mailbox here."))
                    return redirect(reverse("mailaccounts:mailbox_password", args=[mailbox.pk]))
                return redirect(reverse("mailaccounts:mailbox_detail", args=[mailbox.pk]))
        return self.get_response(request)
