"""Access decorators for customer-facing views: one place that decides who may see the panel."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect


def customer_required(view):
    """Signed in and belonging to a customer; otherwise to login or to onboarding."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.customer is None:
            return redirect("onboarding")
        return view(request, *args, **kwargs)

    return wrapper


def owner_required(view):
    """As customer_required, and the user is an owner of the customer."""

    @customer_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.membership.is_owner:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def may_manage_mail(membership) -> bool:
    """Owners and members manage mail (domains, mailboxes, aliases, DNS, the relay); the billing role only
    sees the plan and the invoices, as the invitation says."""
    from .models import Membership

    return bool(membership) and membership.role in (Membership.Role.OWNER, Membership.Role.MEMBER)


def mail_role_required(view):
    """As customer_required, and the user may manage mail; a billing-only member gets 403."""

    @customer_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not may_manage_mail(request.membership):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
