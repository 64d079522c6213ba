"""Attach the request's customer (the tenant) and membership, if the user has one."""

from .models import Membership
from .services import user_has_two_factor

# Columns an app above adds to the membership query that every signed-in request makes, name → expression
# (`register_membership_annotation` in its AppConfig.ready): what it would otherwise ask in a query of its own
# on every request (the mail accounts: whether the user is a mailbox's own login).
MEMBERSHIP_ANNOTATIONS: dict[str, object] = {}


def register_membership_annotation(name: str, expression) -> None:
    MEMBERSHIP_ANNOTATIONS[name] = expression


def _membership(request):
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = Membership.objects.select_related("customer", "customer__plan").filter(user=user)
    return memberships.annotate(**MEMBERSHIP_ANNOTATIONS).first()


class CustomerMiddleware:
    """Sets request.membership and request.customer (None when anonymous or not yet onboarded).

    Not lazy: a SimpleLazyObject wrapping None is not `is None`, which made checks like
    `request.customer is None` silently wrong. One indexed query per signed-in request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = _membership(request)
        request.customer = request.membership.customer if request.membership else None
        return self.get_response(request)


# Paths where the suspension and two-factor rules do not apply: sign-in and account pages (allauth,
# including its MFA pages), the language switch, staff's admin, and static files.
EXEMPT_PREFIXES = ("/accounts/", "/i18n/", "/admin/", "/static/")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def is_exempt(path: str) -> bool:
    return path.startswith(EXEMPT_PREFIXES)


class SuspendedCustomerMiddleware:
    """A suspended or closed customer's users may look around but every change (non-GET request) is refused
    here, except in views marked `allowed_while_suspended` (paying an invoice is how a suspension ends)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method in SAFE_METHODS or is_exempt(request.path):
            return None
        if getattr(view_func, "allowed_while_suspended", False):
            return None
        customer = getattr(request, "customer", None)
        if customer is not None and customer.is_read_only:
            from django.contrib import messages
            from django.shortcuts import redirect
            from django.utils.translation import gettext as _

            if customer.is_closed:
                messages.error(request, _("This account is closed: changes are not possible."))
            else:
                messages.error(request, _("This account is suspended: changes are not possible."))
            return redirect(_back(request))
        return None


class TwoFactorRequiredMiddleware:
    """When the customer requires two-factor, its users without an authenticator are sent to set one up."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._staff_must_set_up(request):
            from django.contrib import messages
            from django.shortcuts import redirect
            from django.utils.translation import gettext as _

            messages.warning(
                request, _("Staff accounts need two-factor authentication. Please set it up first.")
            )
            return redirect("mfa_activate_totp")
        if not is_exempt(request.path) and self._must_set_up(request):
            from django.contrib import messages
            from django.shortcuts import redirect
            from django.utils.translation import gettext as _

            messages.warning(
                request, _("Your organisation requires two-factor authentication. Please set it up first.")
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)

    @staticmethod
    def _staff_must_set_up(request) -> bool:
        """Every staff account has two-factor: without it, the admin (and the panel) wait until it is set up."""
        user = request.user
        if not (user.is_authenticated and user.is_staff):
            return False
        if request.path.startswith(EXEMPT_PREFIXES) and not request.path.startswith("/admin/"):
            return False  # sign-in, the two-factor set-up itself, the language switch, static files
        return not user_has_two_factor(user)

    @staticmethod
    def _must_set_up(request) -> bool:
        customer = request.customer
        if customer is None or not customer.require_two_factor:
            return False
        return not user_has_two_factor(request.user)


def _back(request) -> str:
    """The page the refused form was on, when it is ours; else the dashboard."""
    from django.urls import reverse
    from django.utils.http import url_has_allowed_host_and_scheme

    referer = request.headers.get("referer", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}):
        return referer
    return reverse("dashboard")
