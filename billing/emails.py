"""The e-mails about invoices, payments and the account's end: one name, three templates each (subject, text,
HTML), in the customer's language. Invoices go to the billing address; news that needs action (a failed or
reversed payment, a suspension, each step of a cancellation) also to every owner."""

from celery import shared_task
from django.conf import settings

from tenants.emails import owner_addresses, send_customer_email, site_link
from tenants.models import Customer

from .models import Invoice

EMAIL_NAMES = {"invoice_issued", "invoice_overdue", "payment_failed", "payment_charged_back"}
TO_OWNERS_TOO = {"payment_failed", "payment_charged_back"}
ACCOUNT_EMAIL_NAMES = {
    "account_suspended",
    "account_cancelled",
    "account_closed",
    "account_deleted",
    "account_restored",
}


def recipients(customer: Customer, *, owners: bool) -> list[str]:
    """The billing address, and the owners' addresses when `owners`; each once."""
    addresses = [customer.billing_email, *(owner_addresses(customer) if owners else [])]
    unique: list[str] = []
    for address in addresses:
        if address and address.lower() not in {a.lower() for a in unique}:
            unique.append(address)
    return unique


def send_invoice_email(*, invoice: Invoice, name: str) -> None:
    """Send e-mail `name` about the invoice, in the customer's language."""
    if name not in EMAIL_NAMES:
        raise ValueError(f"unknown invoice e-mail {name!r}")
    context = {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "company_name": settings.COMPANY_NAME,
        "company_iban": getattr(settings, "COMPANY_IBAN", ""),
        "invoice_url": settings.SITE_URL.rstrip("/") + invoice.get_absolute_url(),
    }
    customer = invoice.customer
    send_customer_email(
        customer=customer,
        name=f"billing/email/{name}",
        context=context,
        to=recipients(customer, owners=name in TO_OWNERS_TOO),
    )


def send_account_email(*, customer: Customer, name: str) -> None:
    """Send account e-mail `name` (suspension, the steps of a cancellation) to the billing address and owners."""
    if name not in ACCOUNT_EMAIL_NAMES:
        raise ValueError(f"unknown account e-mail {name!r}")
    context = {
        "customer": customer,
        "cancellation": getattr(customer, "cancellation", None),
        "company_name": settings.COMPANY_NAME,
        "company_iban": getattr(settings, "COMPANY_IBAN", ""),
        "invoices_url": site_link("billing:invoice_list"),
        "panel_url": site_link("dashboard"),
    }
    send_customer_email(
        customer=customer, name=f"billing/email/{name}", context=context, to=recipients(customer, owners=True)
    )


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def deliver_invoice_email(invoice_id: int, name: str) -> None:
    """The same, as a task the services enqueue after commit (retried while the mail server is away)."""
    invoice = Invoice.objects.select_related("customer").get(pk=invoice_id)
    send_invoice_email(invoice=invoice, name=name)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def deliver_account_email(customer_id: int, name: str) -> None:
    customer = Customer.objects.get(pk=customer_id)
    send_account_email(customer=customer, name=name)
