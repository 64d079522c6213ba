"""The dashboard: the customer's home page, over every layer below (mail, storage, team, invoices)."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponsePermanentRedirect,
    HttpResponseServerError,
)
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_safe

from mailaccounts.access import own_mailbox
from mailaccounts.models import Domain
from mailaccounts.services.dnschecks import with_dns_health
from mailaccounts.services.storage import pool_summary
from tenants.access import customer_required, may_manage_mail
from tenants.middleware import same_site_referer
from tenants.standalone import support_contact

from .attention import attention_points


def dashboard(request):
    """The home page: the customer's dashboard; a mailbox's own user's home is their mailbox's page."""
    mailbox = own_mailbox(request.user)
    if mailbox is not None:
        return redirect("mailaccounts:mailbox_detail", pk=mailbox.pk)
    return customer_dashboard(request)


@customer_required
def customer_dashboard(request):
    customer = request.customer
    domains = []
    if may_manage_mail(request.membership):  # the billing role sees the plan, storage and invoices only
        domains = list(with_dns_health(Domain.objects.for_customer(customer)).select_related("mailhost"))
    context = {
        "storage": pool_summary(customer),
        "domains": domains,
        "attention": attention_points(customer, request.membership, domains),
    }
    return render(request, "panel/dashboard.html", context)


def permission_denied(request, exception):
    """A page the user's role does not include (the menu does not offer it, but a link may lead there): which
    role they have, where it is changed, and the way back."""
    membership = getattr(request, "membership", None)
    context = {
        "staff_only": request.path.startswith(reverse("admin:index")),
        "role": membership.get_role_display() if membership else "",
        "customer_name": membership.customer.name if membership else "",
    }
    return render(request, "403.html", context, status=403)


def csrf_failure(request, reason=""):
    """A form sent without its valid CSRF token: mostly one left open through a sign-out or a new sign-in.
    Nothing was done; the way back is the page the form was on (the Referer, when it is one of ours)."""
    context = {"back_url": same_site_referer(request), "no_cookie": reason == REASON_NO_CSRF_COOKIE}
    return render(request, "403_csrf.html", context, status=403)


def bad_request(request, exception):
    """A request Django refused as malformed or suspicious: our page, as for a 500, without the request's
    own data (it is what was wrong)."""
    return HttpResponseBadRequest(render_to_string("400.html", {"site_name": settings.SITE_NAME}))


def server_error(request):
    """Our own 500 page, with the support line; no database access (it may be what failed)."""
    context = {"site_name": settings.SITE_NAME, "support": support_contact()}
    return HttpResponseServerError(render_to_string("500.html", context))


def robots_txt(request):
    """The panel is a place to sign in, not to be found: no search engine indexes any of it."""
    return HttpResponse("User-agent: *\nDisallow: /\n", content_type="text/plain; charset=utf-8")


SECURITY_TXT_DAYS = 180  # RFC 9116 asks for an Expires less than a year ahead


def security_contact_uri(contact: str) -> str | None:
    """`SECURITY_CONTACT` as security.txt's Contact: an address (as `mailto:`) or an https:// URL, one token
    without spaces or control characters; None for anything else."""
    if not contact or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in contact):
        return None
    if contact.startswith("https://"):
        return contact
    address = contact.removeprefix("mailto:")
    local, at, domain = address.rpartition("@")
    return f"mailto:{address}" if local and at and "." in domain else None


@require_safe
def security_txt(request):
    """/.well-known/security.txt (RFC 9116): whom to tell about a security problem, in which languages."""
    contact = security_contact_uri(settings.SECURITY_CONTACT)
    if contact is None:
        raise Http404
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    expires = (today + timedelta(days=SECURITY_TXT_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        f"Contact: {contact}",
        f"Expires: {expires}",
        "Preferred-Languages: nl, en",
        f"Canonical: {settings.SITE_URL.rstrip('/')}/.well-known/security.txt",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


def admin_login(request):
    """Staff sign in where everyone signs in: allauth's form, with its second factor. Django's own admin
    login form (password only) is never shown."""
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("admin:index")
    if request.user.is_authenticated:
        if request.user.is_active and request.user.is_staff:
            return redirect(next_url)
        raise PermissionDenied  # signed in as a customer's user: the admin is for staff only
    return redirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")
