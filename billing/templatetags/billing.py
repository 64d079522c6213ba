"""Billing template helpers: money formatting and the next invoice's estimate for the plan screen."""

from decimal import Decimal

from django import template
from django.utils.formats import number_format

from billing.access import may_see_invoices as _may_see_invoices
from billing.services import expected_next_invoice as estimate_next_invoice

register = template.Library()


@register.filter
def euro(amount) -> str:
    """€ 1.234,50 in Dutch, € 1,234.50 in English; amounts are Decimal, never float."""
    if amount in (None, ""):
        return ""
    return "€\xa0" + number_format(Decimal(amount), decimal_pos=2, use_l10n=True, force_grouping=True)


@register.filter
def euro_abs(amount) -> str:
    """The amount without its sign, for sentences that say "less" or "more" instead of "€ -1,50"."""
    if amount in (None, ""):
        return ""
    return euro(abs(Decimal(amount)))


@register.simple_tag(takes_context=True)
def expected_next_invoice(context):
    """The estimate of the customer's next invoice, for owners and billing members; None for others."""
    request = context.get("request")
    membership = getattr(request, "membership", None) if request is not None else None
    if not _may_see_invoices(membership):
        return None
    return estimate_next_invoice(membership.customer)


@register.filter
def may_see_invoices(membership) -> bool:
    return _may_see_invoices(membership)
