"""Customer screens: the invoice list, the printable invoice page and its PDF download, and the billing
details (the organisation's name and address for invoices, the billing e-mail, the language of e-mails)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Sum
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from tenants.audit import Actor
from tenants.forms import CustomerDetailsForm
from tenants.services import update_customer_details

from .access import billing_role_required, get_invoice_or_404
from .company import company_details
from .forms import InvoiceFilterForm
from .models import Invoice, Payment
from .mollie import online_payments_enabled
from .payments import is_payable

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
    collecting = Payment.objects.filter(
        invoice=OuterRef("pk"), sequence_type=Payment.Sequence.RECURRING, status=Payment.Status.PENDING
    )
    invoices = invoices.annotate(collecting=Exists(collecting))
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
        "company": company_details(),
        "payments": invoice.payments.all(),
        "payable": is_payable(invoice),
        "online": online_payments_enabled(),
        "collecting": invoice.payments.filter(
            sequence_type=Payment.Sequence.RECURRING, status=Payment.Status.PENDING
        ).exists(),
    }
    return render(request, "billing/invoice_detail.html", context)


@billing_role_required
def invoice_pdf(request, pk: int):
    # Imported here, for the download: fpdf2 and fontTools took a third of a second of every process's start
    # (the web server's, Celery's, each test worker's), for a page few requests are.
    from .pdf import render_invoice_pdf  # noqa: PLC0415

    invoice = get_invoice_or_404(request, pk)
    response = HttpResponse(render_invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    return response


@billing_role_required
def billing_details(request):
    form = CustomerDetailsForm(request.POST or None, instance=request.customer)
    if request.method == "POST" and form.is_valid():
        changed = update_customer_details(
            customer=request.customer, details=form.cleaned_data, actor=Actor.from_request(request)
        )
        if changed:
            messages.success(request, _("Billing details saved. Invoices from now on show them."))
        else:
            messages.info(request, _("Nothing changed."))
        return redirect("billing:details")
    return render(request, "billing/details.html", {"form": form})
