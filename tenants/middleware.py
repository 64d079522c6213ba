"""Attach the request's customer (the tenant) and membership, if the user has one."""

from django.db import connections, router
from django.db.models.query import get_related_populators
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from .models import Membership
from .services import user_has_two_factor

# Columns an app above adds to the membership query that every signed-in request makes, name → expression
# (`register_membership_annotation` in its AppConfig.ready): what it would otherwise ask in a query of its own
# on every request (the mail accounts: whether the user is a mailbox's own login).
MEMBERSHIP_ANNOTATIONS: dict[str, object] = {}


def register_membership_annotation(name: str, expression) -> None:
    MEMBERSHIP_ANNOTATIONS[name] = expression


def membership_query(user_id):
    """The membership of a user with its customer and plan (and the columns apps above add), as `.first()`
    asks for it."""
    memberships = Membership.objects.select_related("customer", "customer__plan").filter(user_id=user_id)
    return memberships.annotate(**MEMBERSHIP_ANNOTATIONS).order_by("pk")[:1]


class _Compiled:
    """`membership_query` compiled once per database connection's vendor, then run with each request's user
    id: building and compiling the queryset was most of its cost, 2 ms of the 20 ms of a typical page's CPU
    (a third of a millisecond of it the query itself). What a row becomes is what Django's `ModelIterable`
    makes of it: the membership, its customer and plan, the annotations."""

    PLACEHOLDER = -7_000_001  # an id no user has: found again among the compiled parameters

    def __init__(self, alias: str):
        compiler = membership_query(self.PLACEHOLDER).query.get_compiler(using=alias)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.user_at = self.params.index(self.PLACEHOLDER)
        self.alias = alias
        select, klass_info = compiler.select, compiler.klass_info
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [column[0].target.attname for column in select[self.start : self.end]]
        self.populators = get_related_populators(klass_info, select, alias)
        self.annotations = list(compiler.annotation_col_map.items())
        self.converters = list(compiler.get_converters([column[0] for column in select]).items())

    def first(self, user_id):
        connection = connections[self.alias]
        params = list(self.params)
        params[self.user_at] = user_id
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        if self.converters:
            row = list(row)
            for position, (converters, expression) in self.converters:
                value = row[position]
                for converter in converters:
                    value = converter(value, expression, connection)
                row[position] = value
        membership = Membership.from_db(self.alias, self.init_list, row[self.start : self.end])
        for populator in self.populators:
            populator.populate(row, membership)
        for name, position in self.annotations:
            setattr(membership, name, row[position])
        return membership


_compiled: dict[tuple, _Compiled] = {}


def _membership(request):
    user = request.user
    if not user.is_authenticated:
        return None
    alias = router.db_for_read(Membership)
    key = (alias, connections[alias].vendor, tuple(MEMBERSHIP_ANNOTATIONS))
    compiled = _compiled.get(key)
    if compiled is None:
        compiled = _compiled[key] = _Compiled(alias)
    return compiled.first(user.pk)


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
            return redirect(same_site_referer(request))
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


def same_site_referer(request) -> str:
    """The page the user came from (a refused form, a stale one, a button's address opened) when it is one of
    ours, else the overview."""
    referer = request.headers.get("referer", "")
    same_site = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return referer if referer and same_site else reverse("dashboard")
