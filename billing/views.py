"""Customer screens: the invoice list and a printable invoice."""

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Sum
from django.shortcuts import render

from .access import billing_role_required, get_invoice_or_404
from .forms import InvoiceFilterForm
from .models import Invoice

PAGE_SIZE = 25


def filter_by_status(invoices, status: str):
    if status == "overdue":
        return invoices.overdue()
    if status in {Invoice.Status.OPEN, Invoice.Status.PAID, Invoice.Status.CREDITED}:
        return invoices.filter(status=status)
    return invoices


@billing_role_required
def invoice_list(request):
    invoices = Invoice.objects.for_customer(request.customer).issued().select_related("credit_for")
    form = InvoiceFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    page = Paginator(filter_by_status(invoices, status).order_by("-issued_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    outstanding = invoices.filter(status=Invoice.Status.OPEN, total_incl_vat__gt=0).aggregate(
        total=Sum("total_incl_vat")
    )["total"]
    context = {
        "form": form,
        "status": status,
        "page": page,
        "outstanding": outstanding,
        "overdue_count": invoices.overdue().count(),
    }
    return render(request, "billing/invoice_list.html", context)


@billing_role_required
def invoice_detail(request, pk: int):
    invoice = get_invoice_or_404(request, pk)
    context = {
        "invoice": invoice,
        "lines": invoice.lines.all(),
        "credits": invoice.credit_invoices.issued(),
        "company": {
            "name": settings.COMPANY_NAME,
            "address": settings.COMPANY_ADDRESS,
            "vat_number": settings.COMPANY_VAT_NUMBER,
            "coc_number": getattr(settings, "COMPANY_COC_NUMBER", ""),
            "iban": getattr(settings, "COMPANY_IBAN", ""),
        },
    }
    return render(request, "billing/invoice_detail.html", context)
