"""Invoices, their lines and gapless numbering.

An invoice is a draft while it is being built; issuing it gives it a number and freezes it. After that only
its payment status may change (paid, credited, reminder sent). Corrections are credit invoices that
reference the original.
"""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import Customer, Plan

# The member states of the EU (ISO 3166-1 alpha-2; Greece is GR here, EL only in VAT numbers).
EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)
REVERSE_CHARGE_NOTE = _("VAT reverse-charged, article 44 and 196 of Directive 2006/112/EC")


class ImmutableInvoiceError(ValidationError):
    """Raised on any attempt to change what an issued invoice says."""


class InvoiceNumberSequence(models.Model):
    """The last number handed out per year. Locked with SELECT ... FOR UPDATE while an invoice is issued."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("invoice number sequence")
        verbose_name_plural = _("invoice number sequences")

    def __str__(self):
        return f"{self.year}: {self.last_number}"


class InvoiceQuerySet(models.QuerySet):
    def for_customer(self, customer: Customer):
        return self.filter(customer=customer)

    def issued(self):
        return self.exclude(status=Invoice.Status.DRAFT)

    def overdue(self, today: date | None = None):
        """Open, past the due date and something to pay (credit invoices are never overdue)."""
        today = today or timezone.localdate()
        return self.filter(status=Invoice.Status.OPEN, due_date__lt=today, total_incl_vat__gt=0)

    def not_overdue(self, today: date | None = None):
        return self.exclude(pk__in=self.overdue(today).values("pk"))


class Invoice(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        PAID = "paid", _("Paid")
        CREDITED = "credited", _("Credited")

    # Fields that may still change once an invoice is issued: its payment status, nothing it says.
    PAYMENT_FIELDS = frozenset({"status", "paid_at", "payment_reference", "reminder_sent_at"})

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="invoices"
    )
    number = models.CharField(_("number"), max_length=20, unique=True, null=True, blank=True)
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    paid_at = models.DateField(_("paid on"), null=True, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=100, blank=True)
    reminder_sent_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    credit_for = models.ForeignKey(
        "self",
        verbose_name=_("credit for"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_invoices",
    )
    credit_reason = models.CharField(_("reason for credit"), max_length=200, blank=True)
    total_excl_vat = models.DecimalField(_("total excl. VAT"), max_digits=10, decimal_places=2, default=0)
    vat_rate = models.DecimalField(_("VAT rate"), max_digits=5, decimal_places=4, default=0)
    vat_amount = models.DecimalField(_("VAT"), max_digits=10, decimal_places=2, default=0)
    total_incl_vat = models.DecimalField(_("total incl. VAT"), max_digits=10, decimal_places=2, default=0)
    reverse_charge = models.BooleanField(_("VAT reverse-charged"), default=False)
    billed_name = models.CharField(_("billed name"), max_length=200)
    billed_address = models.CharField(_("billed address"), max_length=200)
    billed_postal_code = models.CharField(_("billed postal code"), max_length=20)
    billed_city = models.CharField(_("billed city"), max_length=100)
    billed_country = models.CharField(_("billed country"), max_length=2)
    billed_vat_number = models.CharField(_("billed VAT number"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-period_start", "-id"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "period_start"],
                condition=models.Q(credit_for__isnull=True),
                name="one_invoice_per_customer_per_period",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(number__isnull=False),
                name="issued_invoice_has_number",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self):
        return self.number or _("Draft invoice for %(customer)s") % {"customer": self.billed_name}

    def save(self, *args, **kwargs):
        self._refuse_changes_once_issued(kwargs.get("update_fields"))
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("billing:invoice_detail", args=[self.pk])

    def delete(self, *args, **kwargs):
        if self.pk and Invoice.objects.issued().filter(pk=self.pk).exists():
            raise ImmutableInvoiceError(_("An issued invoice cannot be deleted."))
        return super().delete(*args, **kwargs)

    @property
    def is_issued(self) -> bool:
        return self.status != self.Status.DRAFT

    @property
    def is_credit(self) -> bool:
        return self.credit_for_id is not None

    def is_overdue(self, today: date | None = None) -> bool:
        today = today or timezone.localdate()
        return (
            self.status == self.Status.OPEN
            and self.due_date is not None
            and self.due_date < today
            and self.total_incl_vat > 0
        )

    @property
    def display_status(self) -> str:
        """open, paid, overdue, credited or draft: what the customer sees."""
        return "overdue" if self.is_overdue() else self.status

    @property
    def display_status_label(self):
        return _("Overdue") if self.is_overdue() else self.get_status_display()

    @property
    def legal_note(self):
        return REVERSE_CHARGE_NOTE if self.reverse_charge else ""

    @property
    def vat_percent(self) -> Decimal:
        return (self.vat_rate * 100).normalize()

    def _refuse_changes_once_issued(self, update_fields) -> None:
        """Compare with the stored row: once issued, only the payment fields may differ."""
        if self._state.adding or self.pk is None:
            return
        stored = Invoice.objects.filter(pk=self.pk).exclude(status=self.Status.DRAFT).first()
        if stored is None:
            return
        fields = [f for f in self._meta.concrete_fields if f.attname not in self.PAYMENT_FIELDS]
        if update_fields is not None:
            fields = [f for f in fields if f.name in update_fields or f.attname in update_fields]
        changed = [f.name for f in fields if getattr(stored, f.attname) != getattr(self, f.attname)]
        if changed:
            raise ImmutableInvoiceError(
                _("Invoice %(number)s is issued and cannot be changed (%(fields)s).")
                % {"number": stored.number, "fields": ", ".join(changed)}
            )


class InvoiceLine(models.Model):
    """One plan over a run of days. amount = monthly price × days / days in the month, rounded to cents."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    description = models.CharField(_("description"), max_length=200)
    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("until"))
    days = models.PositiveSmallIntegerField(_("days"))
    days_in_month = models.PositiveSmallIntegerField(_("days in month"))
    unit_price = models.DecimalField(_("price per month"), max_digits=8, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")

    def __str__(self):
        return self.description

    def save(self, *args, **kwargs):
        self._refuse_if_issued()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_if_issued()
        return super().delete(*args, **kwargs)

    @property
    def is_full_month(self) -> bool:
        return self.days == self.days_in_month

    def _refuse_if_issued(self) -> None:
        if Invoice.objects.issued().filter(pk=self.invoice_id).exists():
            raise ImmutableInvoiceError(_("The lines of an issued invoice cannot be changed."))


# --- Online payment (Mollie) ---------------------------------------------------------------------------------


class PaymentAccount(models.Model):
    """A customer's side at Mollie: its Mollie customer, its direct-debit mandate, and the dates the money-back
    guarantee and an automatic suspension are counted from."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="payment_account"
    )
    mollie_customer_id = models.CharField(_("Mollie customer"), max_length=40, blank=True)
    mandate_id = models.CharField(_("mandate"), max_length=40, blank=True)
    mandate_status = models.CharField(_("mandate status"), max_length=20, blank=True)
    mandate_method = models.CharField(_("mandate method"), max_length=20, blank=True)
    mandate_reference = models.CharField(_("mandate reference"), max_length=60, blank=True)
    mandate_account = models.CharField(_("debited account"), max_length=60, blank=True)
    first_paid_at = models.DateTimeField(_("first payment"), null=True, blank=True)
    # Set when billing suspended the customer for an unpaid invoice: paying lifts exactly that suspension.
    suspended_for_payment_at = models.DateTimeField(_("suspended for non-payment at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment account")
        verbose_name_plural = _("payment accounts")

    def __str__(self):
        return str(self.customer)

    @property
    def has_mandate(self) -> bool:
        return bool(self.mandate_id) and self.mandate_status in ("valid", "pending")

    @property
    def masked_account(self) -> str:
        account = self.mandate_account.replace(" ", "")
        return f"•••• {account[-4:]}" if len(account) >= 4 else account


class PaymentQuerySet(models.QuerySet):
    def for_customer(self, customer: Customer):
        return self.filter(customer=customer)

    def in_progress(self):
        return self.filter(
            status__in=[Payment.Status.OPEN, Payment.Status.PENDING, Payment.Status.AUTHORIZED]
        )


class Payment(models.Model):
    """One payment at Mollie for one invoice. Its status is what Mollie last said, never what a browser said."""

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for payment")
        PENDING = "pending", _("Processing")
        AUTHORIZED = "authorized", _("Authorised")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    class Sequence(models.TextChoices):
        ONEOFF = "oneoff", _("One-off")
        FIRST = "first", _("First payment (sets up direct debit)")
        RECURRING = "recurring", _("Direct debit")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="payments"
    )
    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="payments"
    )
    # The token in the redirect URL: the return page finds the payment by it, scoped to the customer.
    reference = models.CharField(_("reference"), max_length=40, unique=True)
    mollie_id = models.CharField(_("Mollie payment"), max_length=40, unique=True, null=True, blank=True)
    sequence_type = models.CharField(_("kind"), max_length=10, choices=Sequence.choices)
    method = models.CharField(_("method"), max_length=30, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    amount_refunded = models.DecimalField(_("refunded"), max_digits=10, decimal_places=2, default=0)
    amount_charged_back = models.DecimalField(_("charged back"), max_digits=10, decimal_places=2, default=0)
    checkout_url = models.URLField(_("payment page"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("last news from Mollie"), null=True, blank=True)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [models.Index(fields=["invoice", "status"])]

    def __str__(self):
        return self.mollie_id or self.reference

    @property
    def is_in_progress(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.PENDING, self.Status.AUTHORIZED)

    @property
    def refundable(self) -> Decimal:
        return self.amount - self.amount_refunded - self.amount_charged_back


class Refund(models.Model):
    """Money sent back through Mollie, with the credit invoice that keeps the books gapless."""

    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="refunds"
    )
    mollie_id = models.CharField(_("Mollie refund"), max_length=40, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    status = models.CharField(_("status"), max_length=20)
    credit_invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("credit invoice"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")

    def __str__(self):
        return self.mollie_id


class Cancellation(models.Model):
    """An owner's cancellation and its steps: mail stops on `service_ends_on` (at once with the money-back
    guarantee), the data is kept until `delete_after`, then deleted for good. Staff may restore before that."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="cancellation"
    )
    requested_at = models.DateTimeField(_("cancelled at"), default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    money_back = models.BooleanField(_("money-back guarantee"), default=False)
    service_ends_on = models.DateField(_("mail stops after"))
    closed_at = models.DateTimeField(_("mail stopped at"), null=True, blank=True)
    delete_after = models.DateField(_("data deleted after"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("data deleted at"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("cancellation")
        verbose_name_plural = _("cancellations")

    def __str__(self):
        return str(self.customer)
