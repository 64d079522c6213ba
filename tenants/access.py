"""Access decorators for customer-facing views: one place that decides who may see the panel."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from .models import Membership


def customer_required(view):
    """Signed in and belonging to a customer; otherwise to login or to onboarding."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.customer is None:
            return redirect("admin:index" if request.user.is_staff else "onboarding")
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
    return bool(membership) and membership.role in (Membership.Role.OWNER, Membership.Role.MEMBER)


def role_required(may):
    """A decorator: as customer_required, and `may(membership)` holds; other members get 403."""

    def decorator(view):
        @customer_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not may(request.membership):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def allowed_while_suspended(view):
    """Mark a view that a suspended or closed customer may still post to (paying what is owed)."""
    view.allowed_while_suspended = True
    return view


# Owners and members; a billing-only member gets 403.
mail_role_required = role_required(may_manage_mail)
