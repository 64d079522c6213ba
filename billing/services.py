"""Billing operations: monthly generation with daily proration, issuing with gapless numbers, payments,
credit invoices, overdue reminders and the estimate of the next invoice.

Days are counted in settings.TIME_ZONE. A day is billed on the plan the customer has at the end of that
day, so the new plan applies from the day of a change and a plan held for less than a day costs nothing.
"""

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.audit import Actor, record
from tenants.models import Customer, Plan, Subscription, vat_rate

from .emails import deliver_invoice_email
from .models import EU_COUNTRIES, Cancellation, Invoice, InvoiceLine, InvoiceNumberSequence

CENT = Decimal("0.01")


class BillingError(Exception):
    """A billing operation that is not allowed; the message is shown to the user."""


@dataclass(frozen=True)
class LineDraft:
    plan: Plan
    period_start: date
    period_end: date
    days: int
    days_in_month: int

    @property
    def unit_price(self) -> Decimal:
        return self.plan.price_monthly

    @property
    def amount(self) -> Decimal:
        return prorate(self.plan.price_monthly, self.days, self.days_in_month)


@dataclass(frozen=True)
class Totals:
    excl_vat: Decimal
    vat_rate: Decimal
    vat: Decimal
    incl_vat: Decimal
    reverse_charge: bool

    @property
    def vat_percent(self) -> Decimal:
        return (self.vat_rate * 100).normalize()


@dataclass(frozen=True)
class InvoiceEstimate:
    """What the next invoice will say if the current plan is kept until the end of the month."""

    period_start: date
    period_end: date
    issue_date: date
    lines: list[LineDraft]
    totals: Totals


@dataclass
class GenerationResult:
    created: list[int] = field(default_factory=list)
    already_invoiced: int = 0


# --- Periods and proration -------------------------------------------------------------------------


def month_bounds(month: date) -> tuple[date, date]:
    """The first and last day of the month that `month` falls in."""
    first = month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def previous_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def prorate(monthly_price: Decimal, days: int, days_in_month: int) -> Decimal:
    return (monthly_price * days / days_in_month).quantize(CENT, rounding=ROUND_HALF_UP)


def subscriptions_overlapping(first: date, last: date):
    return Subscription.objects.filter(started_at__lt=start_of_day(last + timedelta(days=1))).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=start_of_day(first))
    )


def plan_on(subscriptions: list[Subscription], day: date) -> Plan | None:
    """The plan held at the end of `day`: the latest subscription started by then and not ended by then."""
    held = [
        s
        for s in subscriptions
        if timezone.localdate(s.started_at) <= day
        and (s.ended_at is None or timezone.localdate(s.ended_at) > day)
    ]
    if not held:
        return None
    return max(held, key=lambda s: (s.started_at, s.pk)).plan


def compute_lines(*, customer: Customer, first: date, last: date) -> list[LineDraft]:
    """One line per run of consecutive days on the same plan between first and last (inclusive)."""
    subscriptions = list(
        subscriptions_overlapping(first, last).filter(customer=customer).select_related("plan")
    )
    days_in_month = calendar.monthrange(first.year, first.month)[1]
    lines: list[LineDraft] = []
    day = first
    while day <= last:
        plan = plan_on(subscriptions, day)
        if plan is not None:
            if lines and lines[-1].plan == plan and lines[-1].period_end == day - timedelta(days=1):
                run = lines.pop()
                lines.append(LineDraft(plan, run.period_start, day, run.days + 1, days_in_month))
            else:
                lines.append(LineDraft(plan, day, day, 1, days_in_month))
        day += timedelta(days=1)
    return lines


# --- VAT ---------------------------------------------------------------------------------------------


def is_reverse_charged(customer: Customer) -> bool:
    """A business (it has a VAT number) in another EU country than ours pays the VAT itself."""
    country = str(customer.country).upper()
    return (
        bool(customer.vat_number.strip()) and country != settings.COMPANY_COUNTRY and country in EU_COUNTRIES
    )


def compute_totals(amounts: list[Decimal], *, reverse_charge: bool) -> Totals:
    excl = sum(amounts, Decimal("0.00"))
    rate = Decimal("0") if reverse_charge else vat_rate()
    vat = (excl * rate).quantize(CENT, rounding=ROUND_HALF_UP)
    return Totals(excl_vat=excl, vat_rate=rate, vat=vat, incl_vat=excl + vat, reverse_charge=reverse_charge)


# --- Numbering ---------------------------------------------------------------------------------------


def take_invoice_number(year: int) -> str:
    """The next number of the year. Call inside the issuing transaction: the row lock on the year's
    sequence is held until commit, so concurrent issuers queue up and a rollback gives the number back."""
    if not InvoiceNumberSequence.objects.filter(year=year).exists():
        InvoiceNumberSequence.objects.bulk_create([InvoiceNumberSequence(year=year)], ignore_conflicts=True)
    sequence = InvoiceNumberSequence.objects.select_for_update().get(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"{year}-{sequence.last_number:06d}"


# --- Creating and issuing ------------------------------------------------------------------------------


def _snapshot(customer: Customer) -> dict:
    return {
        "billed_name": customer.name,
        "billed_address": customer.address,
        "billed_postal_code": customer.postal_code,
        "billed_city": customer.city,
        "billed_country": str(customer.country).upper(),
        "billed_vat_number": (customer.vat_number or "").strip(),
    }


@transaction.atomic
def create_invoice_draft(*, customer: Customer, month: date) -> Invoice | None:
    """A draft for the month from the subscription history, or None when nothing is to be billed."""
    first, last = month_bounds(month)
    lines = compute_lines(customer=customer, first=first, last=last)
    if not lines:
        return None
    totals = compute_totals([line.amount for line in lines], reverse_charge=is_reverse_charged(customer))
    invoice = Invoice.objects.create(
        customer=customer,
        period_start=first,
        period_end=last,
        total_excl_vat=totals.excl_vat,
        vat_rate=totals.vat_rate,
        vat_amount=totals.vat,
        total_incl_vat=totals.incl_vat,
        reverse_charge=totals.reverse_charge,
        **_snapshot(customer),
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            description=line.plan.name,
            plan=line.plan,
            period_start=line.period_start,
            period_end=line.period_end,
            days=line.days,
            days_in_month=line.days_in_month,
            unit_price=line.unit_price,
            amount=line.amount,
        )
        for position, line in enumerate(lines, start=1)
    )
    return invoice


@transaction.atomic
def issue_invoice(*, invoice: Invoice, actor: Actor) -> Invoice:
    """Give a draft its number and due date and send it to the customer's billing address."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.is_issued:
        raise BillingError(_("Invoice %(number)s has already been issued.") % {"number": invoice.number})
    today = timezone.localdate()
    invoice.number = take_invoice_number(today.year)
    invoice.year = today.year
    invoice.status = Invoice.Status.OPEN
    invoice.issued_at = timezone.now()
    invoice.due_date = today + timedelta(days=settings.INVOICE_PAYMENT_TERM_DAYS)
    invoice.save(update_fields=["number", "year", "status", "issued_at", "due_date"])
    record(
        actor,
        "invoice.issued",
        customer=invoice.customer,
        obj=invoice,
        changes={"total_incl_vat": str(invoice.total_incl_vat)},
    )
    send_after_commit(invoice, "invoice_issued")
    return invoice


def generate_invoices(*, month: date, actor: Actor | None = None) -> GenerationResult:
    """Invoice every customer with a subscription in the month. Safe to run twice, also concurrently:
    1. customers that already have an invoice for the month are skipped;
    2. each invoice is created and issued in its own transaction, so a failure never leaves a gap;
    3. a concurrent generator that created the same invoice first wins (unique constraint), we skip it.
    """
    actor = actor or Actor.system()
    first, last = month_bounds(month)
    if last >= timezone.localdate():
        raise BillingError(_("%(month)s is not over yet.") % {"month": first.strftime("%Y-%m")})
    result = GenerationResult()
    customer_ids = (
        subscriptions_overlapping(first, last).order_by("customer_id").values_list("customer_id", flat=True)
    )
    for customer in Customer.objects.filter(pk__in=customer_ids).order_by("pk"):
        invoice_id = _generate_one(customer=customer, month=first, actor=actor)
        if invoice_id is None:
            result.already_invoiced += 1
        elif invoice_id:
            result.created.append(invoice_id)
    return result


def _already_invoiced(customer: Customer, first: date) -> bool:
    return Invoice.objects.filter(customer=customer, period_start=first, credit_for__isnull=True).exists()


def _generate_one(*, customer: Customer, month: date, actor: Actor) -> int | None:
    """The new invoice's id; None if it was already invoiced; 0 if there was nothing to bill."""
    if _already_invoiced(customer, month):
        return None
    if Cancellation.objects.filter(customer=customer, money_back=True).exists():
        return 0  # the money-back guarantee: nothing more is billed
    try:
        with transaction.atomic():
            invoice = create_invoice_draft(customer=customer, month=month)
            if invoice is None:
                return 0
            issue_invoice(invoice=invoice, actor=actor)
            return invoice.pk
    except IntegrityError:
        if _already_invoiced(customer, month):
            return None
        raise


# --- Payments, credits, reminders ----------------------------------------------------------------------


@transaction.atomic
def mark_paid(*, invoice: Invoice, paid_on: date, reference: str, actor: Actor) -> Invoice:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != Invoice.Status.OPEN:
        raise BillingError(
            _("Invoice %(number)s is not open (%(status)s).")
            % {"number": invoice.number or invoice.pk, "status": invoice.get_status_display()}
        )
    if paid_on > timezone.localdate():
        raise BillingError(_("The payment date cannot be in the future."))
    if paid_on < timezone.localdate(invoice.issued_at):
        raise BillingError(_("The payment date cannot be before the invoice was issued."))
    invoice.status = Invoice.Status.PAID
    invoice.paid_at = paid_on
    invoice.payment_reference = reference.strip()
    invoice.save(update_fields=["status", "paid_at", "payment_reference"])
    record(
        actor,
        "invoice.paid",
        customer=invoice.customer,
        obj=invoice,
        changes={"paid_on": paid_on.isoformat(), "reference": invoice.payment_reference},
    )
    return invoice


@transaction.atomic
def issue_credit_invoice(*, original: Invoice, actor: Actor, reason: str) -> Invoice:
    """Credit an issued invoice in full with a new, negative invoice that references it.

    The original keeps every line and amount. If it was still open it is settled by the credit (status
    credited, and the credit invoice is paid by the set-off); if it was paid, the credit invoice stays open
    until the refund is marked paid.
    """
    original = Invoice.objects.select_for_update().get(pk=original.pk)
    _check_creditable(original)
    credit = Invoice.objects.create(
        customer=original.customer,
        period_start=original.period_start,
        period_end=original.period_end,
        credit_for=original,
        credit_reason=reason.strip(),
        total_excl_vat=-original.total_excl_vat,
        vat_rate=original.vat_rate,
        vat_amount=-original.vat_amount,
        total_incl_vat=-original.total_incl_vat,
        reverse_charge=original.reverse_charge,
        **{name: getattr(original, name) for name in _snapshot(original.customer)},
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=credit,
            position=line.position,
            description=line.description,
            plan_id=line.plan_id,
            period_start=line.period_start,
            period_end=line.period_end,
            days=line.days,
            days_in_month=line.days_in_month,
            unit_price=-line.unit_price,
            amount=-line.amount,
        )
        for line in original.lines.all()
    )
    issue_invoice(invoice=credit, actor=actor)
    credit.refresh_from_db()
    if original.status == Invoice.Status.OPEN:
        _settle_by_credit(original, credit)
    record(
        actor, "invoice.credited", customer=original.customer, obj=original, changes={"credit": credit.number}
    )
    return credit


def _check_creditable(original: Invoice) -> None:
    if not original.is_issued:
        raise BillingError(_("A draft cannot be credited."))
    if original.is_credit:
        raise BillingError(_("A credit invoice cannot be credited."))
    if original.credit_invoices.exists():
        raise BillingError(_("Invoice %(number)s has already been credited.") % {"number": original.number})


def _settle_by_credit(original: Invoice, credit: Invoice) -> None:
    today = timezone.localdate()
    original.status = Invoice.Status.CREDITED
    original.save(update_fields=["status"])
    credit.status = Invoice.Status.PAID
    credit.paid_at = today
    credit.payment_reference = original.number or ""
    credit.save(update_fields=["status", "paid_at", "payment_reference"])


def send_overdue_reminders(*, today: date | None = None) -> int:
    """One reminder per overdue invoice, ever: each is claimed with a conditional UPDATE before sending."""
    sent = 0
    for invoice in Invoice.objects.overdue(today).filter(reminder_sent_at__isnull=True):
        with transaction.atomic():
            claimed = Invoice.objects.filter(pk=invoice.pk, reminder_sent_at__isnull=True).update(
                reminder_sent_at=timezone.now()
            )
            if claimed:
                record(Actor.system(), "invoice.reminded", customer=invoice.customer, obj=invoice)
                send_after_commit(invoice, "invoice_overdue")
                sent += 1
    return sent


def send_after_commit(invoice: Invoice, email_name: str) -> None:
    invoice_id = invoice.pk
    transaction.on_commit(lambda: deliver_invoice_email.delay(invoice_id, email_name))


# --- The plan screen ----------------------------------------------------------------------------------


def expected_next_invoice(customer: Customer, *, today: date | None = None) -> InvoiceEstimate | None:
    """The invoice for the current month, assuming the current plan is kept until its end."""
    first, last = month_bounds(today or timezone.localdate())
    lines = compute_lines(customer=customer, first=first, last=last)
    if not lines:
        return None
    totals = compute_totals([line.amount for line in lines], reverse_charge=is_reverse_charged(customer))
    return InvoiceEstimate(
        period_start=first, period_end=last, issue_date=last + timedelta(days=1), lines=lines, totals=totals
    )
