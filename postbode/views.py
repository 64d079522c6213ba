"""The dashboard: the customer's home page, over every layer below (mail, storage, team, invoices)."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponsePermanentRedirect, HttpResponseServerError
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from mailaccounts.access import own_mailbox
from mailaccounts.models import Domain
from mailaccounts.services.dnschecks import with_dns_health
from mailaccounts.services.storage import pool_summary
from tenants.access import customer_required, may_manage_mail

from .attention import attention_points
from .context_processors import support_contact


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


def server_error(request):
    """Our own 500 page, with the support line; no database access (it may be what failed)."""
    context = {"site_name": settings.SITE_NAME, "support": support_contact()}
    return HttpResponseServerError(render_to_string("500.html", context))


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
