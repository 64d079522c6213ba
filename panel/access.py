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
