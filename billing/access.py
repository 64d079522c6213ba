"""Who may see invoices: owners and members with the billing role of the invoice's customer."""

from django.shortcuts import get_object_or_404

from tenants.access import role_required
from tenants.models import Membership

from .models import Invoice

BILLING_ROLES = {Membership.Role.OWNER, Membership.Role.BILLING}


def may_see_invoices(membership) -> bool:
    return bool(membership) and membership.role in BILLING_ROLES


# Owners and the billing role; other members get 403.
billing_role_required = role_required(may_see_invoices)


def get_invoice_or_404(request, pk: int) -> Invoice:
    """An issued invoice of the request's customer; anything else (drafts, other customers) is a 404."""
    invoices = Invoice.objects.for_customer(request.customer).issued().select_related("credit_for")
    return get_object_or_404(invoices, pk=pk)
