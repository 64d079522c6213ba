"""The e-mails about invoices: one name, three templates each (subject, text, HTML)."""

from celery import shared_task
from django.conf import settings

from tenants.emails import send_customer_email

from .models import Invoice

EMAIL_NAMES = {"invoice_issued", "invoice_overdue"}


def send_invoice_email(*, invoice: Invoice, name: str) -> None:
    """Send e-mail `name` about the invoice to the customer's billing address, in the customer's language."""
    if name not in EMAIL_NAMES:
        raise ValueError(f"unknown invoice e-mail {name!r}")
    context = {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "company_name": settings.COMPANY_NAME,
        "company_iban": getattr(settings, "COMPANY_IBAN", ""),
        "invoice_url": settings.SITE_URL.rstrip("/") + invoice.get_absolute_url(),
    }
    send_customer_email(
        customer=invoice.customer,
        name=f"billing/email/{name}",
        context=context,
        to=[invoice.customer.billing_email],
    )


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def deliver_invoice_email(invoice_id: int, name: str) -> None:
    """The same, as a task the services enqueue after commit (retried while the mail server is away)."""
    invoice = Invoice.objects.select_related("customer").get(pk=invoice_id)
    send_invoice_email(invoice=invoice, name=name)
