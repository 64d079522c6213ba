"""Online payment through Mollie: paying an invoice on Mollie's payment page, collecting invoices by SEPA
direct debit, and acting on what Mollie says about a payment.

The panel never believes a browser. Mollie's webhook carries only a payment id; `handle_webhook` fetches that
payment from Mollie and `apply_mollie_payment` compares it with what we stored, acting only on what changed,
under a row lock: a replayed webhook changes nothing, and an id we never created is ignored.

1. A customer's first online payment (iDEAL or card, sequence "first") sets up a direct-debit mandate.
2. Later invoices are collected from that mandate (sequence "recurring") when issued and daily after.
3. Paid: the invoice is marked paid, the mandate stored, a suspension for non-payment lifted.
4. A failed direct debit, or a charge-back of a paid one, leaves or puts the invoice open again and e-mails
   the owners a link to pay it online; the reminder and the grace period (`suspend_unpaid_customers`) follow.
"""

import secrets
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tenants.audit import Actor, record
from tenants.models import Customer
from tenants.services import reactivate_customer, suspend_customer

from . import mollie
from .emails import deliver_account_email
from .models import Invoice, Payment, PaymentAccount, Refund
from .services import BillingError, mark_paid, send_after_commit, start_of_day

IN_PROGRESS = [Payment.Status.OPEN, Payment.Status.PENDING, Payment.Status.AUTHORIZED]
FINAL_FAILURES = {Payment.Status.FAILED, Payment.Status.CANCELED, Payment.Status.EXPIRED}


def webhook_url() -> str:
    return settings.PAYMENT_WEBHOOK_BASE_URL.rstrip("/") + reverse("billing:payment_webhook")


def return_url(payment: Payment) -> str:
    return settings.PAYMENT_REDIRECT_BASE_URL.rstrip("/") + reverse(
        "billing:payment_return", args=[payment.reference]
    )


def payment_account(customer: Customer) -> PaymentAccount:
    account, _created = PaymentAccount.objects.get_or_create(customer=customer)
    return account


def is_payable(invoice: Invoice) -> bool:
    return invoice.status == Invoice.Status.OPEN and invoice.total_incl_vat > 0 and not invoice.is_credit


def _description(invoice: Invoice) -> str:
    return f"{settings.SITE_NAME} {invoice.number}"


def _ensure_mollie_customer(account: PaymentAccount) -> str:
    if not account.mollie_customer_id:
        customer = account.customer
        created = mollie.client().customers.create(
            {
                "name": customer.name,
                "email": customer.billing_email,
                "locale": "nl_NL" if customer.language == "nl" else "en_US",
                "metadata": {"customer": customer.pk},
            },
            idempotency_key=f"postbode-customer-{customer.pk}",
        )
        account.mollie_customer_id = created.id
        account.save(update_fields=["mollie_customer_id"])
    return account.mollie_customer_id


def _unavailable(error: Exception) -> BillingError:
    return BillingError(
        _(
            "Online payment is not available right now (%(error)s). Please try again later or pay by bank transfer."
        )
        % {"error": error}
    )


# --- Paying an invoice on Mollie's payment page ----------------------------------------------------------


def start_payment(*, invoice: Invoice, actor: Actor) -> Payment:
    """A payment page for the open invoice. A payment already waiting on its page is returned instead of a
    second one (a double click on "pay"); a direct debit under way is not doubled by paying online."""
    if not mollie.online_payments_enabled():
        raise BillingError(_("Online payment is off. Please pay by bank transfer."))
    waiting = _waiting_payment(invoice)
    if waiting is not None:
        return waiting
    return _create_checkout_payment(invoice=invoice, actor=actor)


def _waiting_payment(invoice: Invoice) -> Payment | None:
    """The invoice's payment still open on Mollie's page, after asking Mollie about each one under way."""
    for payment in invoice.payments.in_progress():
        try:
            refresh_payment(payment=payment)
        except mollie.MollieError as error:
            raise _unavailable(error) from error
    payment = invoice.payments.in_progress().first()
    if payment is not None and payment.sequence_type == Payment.Sequence.RECURRING:
        raise BillingError(
            _("Invoice %(number)s is being collected by direct debit; no need to pay it again.")
            % {"number": invoice.number}
        )
    if payment is not None and payment.status == Payment.Status.OPEN and payment.checkout_url:
        return payment
    return None


@transaction.atomic
def _create_checkout_payment(*, invoice: Invoice, actor: Actor) -> Payment:
    invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
    if not is_payable(invoice):
        raise BillingError(_("Invoice %(number)s has nothing left to pay.") % {"number": invoice.number})
    raced = invoice.payments.in_progress().exclude(checkout_url="").first()
    if raced is not None:  # a concurrent click created it while we asked Mollie
        return raced
    account = payment_account(invoice.customer)
    sequence = Payment.Sequence.ONEOFF if account.has_mandate else Payment.Sequence.FIRST
    payment = Payment.objects.create(
        customer=invoice.customer,
        invoice=invoice,
        reference=secrets.token_urlsafe(16),
        sequence_type=sequence,
        amount=invoice.total_incl_vat,
        created_by=actor.user,
    )
    try:
        created = mollie.client().payments.create(
            {
                "amount": mollie.amount(invoice.total_incl_vat),
                "description": _description(invoice),
                "redirectUrl": return_url(payment),
                "webhookUrl": webhook_url(),
                "customerId": _ensure_mollie_customer(account),
                "sequenceType": sequence,
                "method": ["ideal", "creditcard"],
                "locale": "nl_NL" if invoice.customer.language == "nl" else "en_US",
                "metadata": {"invoice": invoice.number, "payment": payment.reference},
            },
            idempotency_key=f"postbode-payment-{payment.reference}",
        )
    except mollie.MollieError as error:
        raise _unavailable(error) from error
    payment.mollie_id = created.id
    payment.checkout_url = created.checkout_url or ""
    payment.status = created.status
    payment.save(update_fields=["mollie_id", "checkout_url", "status"])
    record(
        actor,
        "payment.started",
        customer=invoice.customer,
        obj=payment,
        changes={"invoice": invoice.number, "amount": str(payment.amount), "sequence": sequence},
    )
    return payment


# --- Collecting by direct debit ----------------------------------------------------------------------------


def may_collect(invoice: Invoice) -> bool:
    """Open, a mandate, nothing under way or paid, and no earlier debit that failed or was reversed: those
    the customer pays online with the link we sent, we do not debit again."""
    if not is_payable(invoice):
        return False
    account = PaymentAccount.objects.filter(customer_id=invoice.customer_id).first()
    if account is None or not account.has_mandate:
        return False
    payments = invoice.payments.all()
    if payments.filter(status__in=[*IN_PROGRESS, Payment.Status.PAID]).exists():
        return False
    return not payments.filter(sequence_type=Payment.Sequence.RECURRING).exists()


@transaction.atomic
def collect_invoice(*, invoice: Invoice, actor: Actor) -> Payment | None:
    """Debit the open invoice from the customer's mandate; None when it may not be collected."""
    if not mollie.online_payments_enabled():
        return None
    invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
    if not may_collect(invoice) or invoice.payments.in_progress().exists():
        return None
    account = payment_account(invoice.customer)
    payment = Payment.objects.create(
        customer=invoice.customer,
        invoice=invoice,
        reference=secrets.token_urlsafe(16),
        sequence_type=Payment.Sequence.RECURRING,
        amount=invoice.total_incl_vat,
        status=Payment.Status.PENDING,
    )
    created = mollie.client().payments.create(
        {
            "amount": mollie.amount(invoice.total_incl_vat),
            "description": _description(invoice),
            "webhookUrl": webhook_url(),
            "customerId": account.mollie_customer_id,
            "mandateId": account.mandate_id,
            "sequenceType": Payment.Sequence.RECURRING,
            "metadata": {"invoice": invoice.number, "payment": payment.reference},
        },
        idempotency_key=f"postbode-payment-{payment.reference}",
    )
    payment.mollie_id = created.id
    payment.status = created.status
    payment.method = created.method or ""
    payment.save(update_fields=["mollie_id", "status", "method"])
    record(
        actor,
        "payment.collected",
        customer=invoice.customer,
        obj=payment,
        changes={"invoice": invoice.number, "amount": str(payment.amount), "mandate": account.mandate_id},
    )
    return payment


def collect_open_invoices() -> int:
    """Start a direct debit for every open invoice of a customer with a mandate. Safe to run twice."""
    started = 0
    open_invoices = Invoice.objects.filter(
        status=Invoice.Status.OPEN, total_incl_vat__gt=0, credit_for__isnull=True
    ).filter(customer__payment_account__mandate_status__in=["valid", "pending"])
    for invoice in open_invoices.order_by("pk"):
        try:
            if collect_invoice(invoice=invoice, actor=Actor.system()) is not None:
                started += 1
        except mollie.MollieError:
            continue  # Mollie unreachable or refusing: tomorrow's run tries again
    return started


# --- What Mollie says ------------------------------------------------------------------------------------


def handle_webhook(mollie_id: str) -> str:
    """Mollie's webhook: "unknown" for an id we never created (nothing changes), else "updated"/"unchanged"."""
    payment = Payment.objects.filter(mollie_id=mollie_id).first()
    if payment is None:
        return "unknown"
    return "updated" if refresh_payment(payment=payment) else "unchanged"


def refresh_payment(*, payment: Payment) -> bool:
    """Fetch the payment from Mollie and apply it; True when something changed."""
    data = mollie.client().payments.get(payment.mollie_id)
    return apply_mollie_payment(payment_id=payment.pk, data=data)


@transaction.atomic
def apply_mollie_payment(*, payment_id: int, data) -> bool:
    """Bring our payment to what Mollie says, acting once on each change (idempotent under the row lock)."""
    payment = Payment.objects.select_for_update().select_related("customer").get(pk=payment_id)
    if data.get("id") != payment.mollie_id:
        return False
    changed = []
    status = data.get("status")
    if status in Payment.Status.values and status != payment.status:
        payment.status = status
        changed.append("status")
        if status == Payment.Status.PAID:
            payment.paid_at = timezone.now()
            changed.append("paid_at")
            _on_paid(payment, data)
        elif status in FINAL_FAILURES:
            _on_failed(payment)
    charged_back = mollie.decimal_of(data.get("amountChargedBack"))
    if charged_back > payment.amount_charged_back:
        payment.amount_charged_back = charged_back
        changed.append("amount_charged_back")
        _on_charged_back(payment)
    refunded = mollie.decimal_of(data.get("amountRefunded"))
    if refunded > payment.amount_refunded:
        payment.amount_refunded = refunded
        changed.append("amount_refunded")
    _refresh_refunds(payment, data)
    if isinstance(data.get("method"), str) and data["method"] != payment.method:
        payment.method = data["method"]
        changed.append("method")
    payment.updated_at = timezone.now()
    payment.save(update_fields=[*changed, "updated_at"])
    return bool(changed)


def _on_paid(payment: Payment, data) -> None:
    customer = payment.customer
    invoice = Invoice.objects.select_for_update().get(pk=payment.invoice_id)
    account = payment_account(customer)
    record(
        Actor.system(),
        "payment.paid",
        customer=customer,
        obj=payment,
        changes={"invoice": invoice.number, "amount": str(payment.amount), "invoice_status": invoice.status},
    )
    if invoice.status == Invoice.Status.OPEN:
        mark_paid(
            invoice=invoice, paid_on=timezone.localdate(), reference=payment.mollie_id, actor=Actor.system()
        )
    else:  # paid twice (a bank transfer came first) or credited meanwhile: the money goes back
        reason = _("Invoice %(number)s was already settled; paid twice") % {"number": invoice.number}
        refund_payment(payment=payment, reason=reason, actor=Actor.system())
    if account.first_paid_at is None:
        account.first_paid_at = timezone.now()
        account.save(update_fields=["first_paid_at"])
    if payment.sequence_type == Payment.Sequence.FIRST and data.get("mandateId"):
        _store_mandate(account, data)
    lift_payment_suspension(customer=customer)


def _store_mandate(account: PaymentAccount, data) -> None:
    mandate = data.get_mandate()
    if mandate is None or mandate.id == account.mandate_id:
        return
    account.mandate_id = mandate.id
    account.mandate_status = mandate.status or ""
    account.mandate_method = mandate.method or ""
    account.mandate_reference = mandate.mandate_reference or ""
    details = mandate.details or {}
    account.mandate_account = details.get("consumerAccount") or details.get("cardNumber") or ""
    account.save(
        update_fields=[
            "mandate_id",
            "mandate_status",
            "mandate_method",
            "mandate_reference",
            "mandate_account",
        ]
    )
    record(
        Actor.system(),
        "mandate.created",
        customer=account.customer,
        obj=account,
        changes={"mandate": mandate.id, "method": account.mandate_method, "account": account.masked_account},
    )


def _on_failed(payment: Payment) -> None:
    record(
        Actor.system(),
        "payment.failed",
        customer=payment.customer,
        obj=payment,
        changes={"status": payment.status, "sequence": payment.sequence_type},
    )
    if payment.sequence_type == Payment.Sequence.RECURRING:
        send_after_commit(payment.invoice, "payment_failed")


def _on_charged_back(payment: Payment) -> None:
    """The bank reversed the payment: the invoice is open again and the reminders start over."""
    invoice = Invoice.objects.select_for_update().get(pk=payment.invoice_id)
    record(
        Actor.system(),
        "payment.charged_back",
        customer=payment.customer,
        obj=payment,
        changes={"invoice": invoice.number, "amount": str(payment.amount_charged_back)},
    )
    if invoice.status != Invoice.Status.PAID:
        return
    invoice.status = Invoice.Status.OPEN
    invoice.paid_at = None
    invoice.payment_reference = ""
    invoice.reminder_sent_at = None
    invoice.save(update_fields=["status", "paid_at", "payment_reference", "reminder_sent_at"])
    record(
        Actor.system(),
        "invoice.reopened",
        customer=invoice.customer,
        obj=invoice,
        changes={"reason": "chargeback"},
    )
    send_after_commit(invoice, "payment_charged_back")


# --- Refunds -------------------------------------------------------------------------------------------------


def refund_payment(
    *, payment: Payment, reason: str, actor: Actor, credit_invoice: Invoice | None = None
) -> Refund:
    """Send back what is left of a paid payment through Mollie (once: the idempotency key is the payment's)."""
    created = (
        mollie.client()
        .payments.get(payment.mollie_id)
        .refunds.create(
            {
                "amount": mollie.amount(payment.refundable),
                "description": reason[:140],
                "metadata": {"credit": credit_invoice.number if credit_invoice else None},
            },
            idempotency_key=f"postbode-refund-{payment.reference}",
        )
    )
    refund = Refund.objects.create(
        payment=payment,
        mollie_id=created.id,
        amount=mollie.decimal_of(created.amount),
        status=created.status or "",
        credit_invoice=credit_invoice,
        reason=reason,
    )
    payment.amount_refunded += refund.amount
    Payment.objects.filter(pk=payment.pk).update(amount_refunded=payment.amount_refunded)
    changes = {"payment": payment.mollie_id, "amount": str(refund.amount)}
    if credit_invoice is not None:
        changes["credit"] = credit_invoice.number
    record(actor, "refund.created", customer=payment.customer, obj=refund, changes=changes)
    return refund


def _refresh_refunds(payment: Payment, data) -> None:
    """Mollie calls the payment's webhook when one of its refunds moves on: keep their status current."""
    if not payment.refunds.exists():
        return
    for item in data.refunds.list():
        Refund.objects.filter(payment=payment, mollie_id=item.id).exclude(status=item.status).update(
            status=item.status
        )


# --- Suspension for non-payment --------------------------------------------------------------------------


def suspend_unpaid_customers(*, today: date | None = None) -> int:
    """Suspend each active customer with an invoice overdue and reminded more than PAYMENT_GRACE_DAYS ago."""
    now = timezone.now() if today is None else start_of_day(today)
    reminded_before = now - timedelta(days=settings.PAYMENT_GRACE_DAYS)
    overdue = Invoice.objects.overdue(today).filter(
        reminder_sent_at__lte=reminded_before, customer__status=Customer.Status.ACTIVE
    )
    suspended = 0
    for customer_id in overdue.values_list("customer_id", flat=True).distinct().order_by("customer_id"):
        if _suspend_for_payment(customer_id=customer_id, overdue=overdue.filter(customer_id=customer_id)):
            suspended += 1
    return suspended


@transaction.atomic
def _suspend_for_payment(*, customer_id: int, overdue) -> bool:
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    if customer.status != Customer.Status.ACTIVE:
        return False
    numbers = ", ".join(overdue.order_by("number").values_list("number", flat=True))
    suspend_customer(
        customer=customer, reason=_("Unpaid: %(numbers)s") % {"numbers": numbers}, actor=Actor.system()
    )
    account = payment_account(customer)
    account.suspended_for_payment_at = timezone.now()
    account.save(update_fields=["suspended_for_payment_at"])
    transaction.on_commit(lambda: deliver_account_email.delay(customer_id, "account_suspended"))
    return True


def lift_payment_suspension(*, customer: Customer) -> bool:
    """Reactivate a customer that billing suspended, once nothing is overdue any more. Staff suspensions stay."""
    account = PaymentAccount.objects.select_for_update().filter(customer=customer).first()
    if account is None or account.suspended_for_payment_at is None:
        return False
    if Invoice.objects.for_customer(customer).overdue().exists():
        return False
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.is_suspended:
        reactivate_customer(customer=customer, actor=Actor.system())
    account.suspended_for_payment_at = None
    account.save(update_fields=["suspended_for_payment_at"])
    return True
