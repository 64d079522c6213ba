"""Access decorators for customer-facing views: one place that decides who may see the panel."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect

from .models import Membership


def is_limited_to_mailbox(request) -> bool:
    """Signed in as a mailbox's own user (`request.own_mailbox`, set by mailaccounts' middleware): they
    see that one mailbox's pages and none of the customer's."""
    return getattr(request, "own_mailbox", None) is not None


def mark_open_to_mailbox_user(view):
    """Mark a view a mailbox's own user may open (for their own mailbox): the menu offers a mailbox user
    only such pages, and the access tests expect a 404 from every other."""
    view.open_to_mailbox_user = True
    return view


def is_open_to_mailbox_user(view) -> bool:
    return getattr(view, "open_to_mailbox_user", False)


def signed_in_user_required(view):
    """A customer's user or a mailbox's own user: pages about one's own login (security, two-factor)."""
    for_customers = customer_required(view)

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if is_limited_to_mailbox(request):
            return view(request, *args, **kwargs)
        return for_customers(request, *args, **kwargs)

    return mark_open_to_mailbox_user(wrapper)


def customer_required(view):
    """Signed in and belonging to a customer; otherwise to login or to onboarding. A mailbox's own user
    gets 404: the customer's pages do not exist for them."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if is_limited_to_mailbox(request):
            raise Http404
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
