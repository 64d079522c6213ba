"""The dashboard: the customer's home page, over every layer below (mail, storage, team, invoices)."""

from django.shortcuts import render

from mailaccounts.models import Domain
from mailaccounts.services.dnschecks import with_dns_health
from mailaccounts.services.storage import pool_summary
from tenants.access import customer_required, may_manage_mail

from .attention import attention_points


@customer_required
def dashboard(request):
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
