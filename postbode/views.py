"""The dashboard: the customer's home page, over every layer below (mail, storage, team)."""

from django.db.models import F
from django.shortcuts import render

from billing.access import may_see_invoices
from billing.models import Invoice
from mailaccounts.models import Domain, Mailbox
from mailaccounts.services.dnschecks import with_dns_health
from mailaccounts.services.storage import pool_summary
from tenants import services
from tenants.access import customer_required, may_manage_mail

NEAR_QUOTA_RATIO = 0.9
NEAR_QUOTA_SHOWN = 10


@customer_required
def dashboard(request):
    customer = request.customer
    domains, near_quota = [], []
    if may_manage_mail(request.membership):  # the billing role sees the plan, storage and invoices only
        domains = list(with_dns_health(Domain.objects.for_customer(customer)).select_related("mailhost"))
        near_quota = list(
            Mailbox.objects.for_customer(customer)
            .active()
            .filter(quota_bytes__gt=0, used_bytes__gte=F("quota_bytes") * NEAR_QUOTA_RATIO)
            .select_related("domain")
            .order_by("-used_bytes")[:NEAR_QUOTA_SHOWN]
        )
    without_two_factor = services.members_without_two_factor(customer) if customer.require_two_factor else []
    overdue_invoices = []
    if may_see_invoices(request.membership):  # members see no invoices
        overdue_invoices = list(Invoice.objects.for_customer(customer).overdue().order_by("due_date")[:10])
    context = {
        "storage": pool_summary(customer),
        "domains": domains,
        "unverified_domains": [domain for domain in domains if not domain.is_verified],
        "near_quota": near_quota,
        "without_two_factor": without_two_factor,
        "overdue_invoices": overdue_invoices,
    }
    return render(request, "panel/dashboard.html", context)
