"""Cancelling an account, the money-back guarantee, and the steps after: mail stops, data kept, data deleted.

1. An owner cancels (`cancel_account`). Within MONEY_BACK_DAYS of the first payment (of sign-up, when nothing
   was paid yet) the money-back guarantee applies: every online payment is refunded through Mollie, every
   invoice is credited (so the books stay gapless and nothing more is billed) and mail stops at once.
   Later, mail keeps working until the end of the month that is being paid for, and that month is invoiced
   as usual.
2. `advance_cancellations` (hourly): on the day after the last paid day the account is closed: its domains
   leave the mail hosts (logins fail, mail to them is refused); the data stays CLOSED_ACCOUNT_RETENTION_DAYS,
   during which staff may `restore_account`.
3. After that the mailboxes, their mail, aliases, domains and DKIM keys are deleted for good. Invoices stay
   (bookkeeping). Every step is audited and e-mailed to the billing address and the owners.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mailaccounts.models import Domain, Mailbox
from mailaccounts.services.domains import remove_domain
from mailaccounts.services.mailboxes import purge_mailbox
from mailhosts.revisions import mark_changed
from tenants.audit import Actor, record
from tenants.models import Customer, Subscription

from .emails import deliver_account_email
from .models import Cancellation, Invoice, Payment, PaymentAccount
from .payments import refund_payment
from .services import BillingError, issue_credit_invoice, month_bounds, start_of_day


@dataclass(frozen=True)
class CancellationTerms:
    """What cancelling today means, shown to the owner before they confirm and applied by `cancel_account`."""

    money_back: bool
    guarantee_ends_on: date
    service_ends_on: date  # the last day mail works
    delete_after: date
    domains: list[str] = field(default_factory=list)
    mailboxes: list[str] = field(default_factory=list)
    refunds: list[Payment] = field(default_factory=list)
    by_bank: list[Invoice] = field(default_factory=list)  # paid by transfer: staff transfer the money back

    @property
    def refund_total(self) -> Decimal:
        return sum((p.refundable for p in self.refunds), Decimal("0.00"))

    @property
    def by_bank_total(self) -> Decimal:
        return sum((i.total_incl_vat for i in self.by_bank), Decimal("0.00"))


def guarantee_start(customer: Customer) -> date:
    """The day the money-back period counts from: the first payment (online or by transfer), else sign-up."""
    account = PaymentAccount.objects.filter(customer=customer).first()
    paid_on = [
        Invoice.objects.for_customer(customer)
        .filter(paid_at__isnull=False, credit_for__isnull=True)
        .order_by("paid_at")
        .values_list("paid_at", flat=True)
        .first()
    ]
    if account is not None and account.first_paid_at is not None:
        paid_on.append(timezone.localdate(account.first_paid_at))
    paid_on = [day for day in paid_on if day is not None]
    return min(paid_on) if paid_on else timezone.localdate(customer.created_at)


def cancellation_terms(customer: Customer, *, today: date | None = None) -> CancellationTerms:
    today = today or timezone.localdate()
    guarantee_ends_on = guarantee_start(customer) + timedelta(days=settings.MONEY_BACK_DAYS)
    money_back = today <= guarantee_ends_on
    service_ends_on = today if money_back else month_bounds(today)[1]
    domains = list(Domain.objects.for_customer(customer).order_by("name").values_list("name", flat=True))
    mailboxes = [
        box.address
        for box in Mailbox.objects.for_customer(customer)
        .active()
        .select_related("domain")
        .order_by("domain__name", "local_part")
    ]
    refunds, by_bank = [], []
    if money_back:
        refunds = [
            p
            for p in Payment.objects.for_customer(customer)
            .filter(status=Payment.Status.PAID)
            .select_related("invoice")
            if p.refundable > 0 and not p.invoice.credit_invoices.exists()
        ]
        online = {
            p.invoice_id for p in Payment.objects.for_customer(customer).filter(status=Payment.Status.PAID)
        }
        by_bank = list(
            Invoice.objects.for_customer(customer)
            .filter(status=Invoice.Status.PAID, credit_for__isnull=True, total_incl_vat__gt=0)
            .exclude(pk__in=online)
            .exclude(credit_invoices__isnull=False)
        )
    return CancellationTerms(
        money_back=money_back,
        guarantee_ends_on=guarantee_ends_on,
        service_ends_on=service_ends_on,
        delete_after=service_ends_on + timedelta(days=1 + settings.CLOSED_ACCOUNT_RETENTION_DAYS),
        domains=domains,
        mailboxes=mailboxes,
        refunds=refunds,
        by_bank=by_bank,
    )


@transaction.atomic
def cancel_account(*, customer: Customer, actor: Actor, today: date | None = None) -> Cancellation:
    """Cancel the customer's subscription on the terms of today (see the module's steps). A second request
    changes nothing: the account is cancelled once."""
    today = today or timezone.localdate()
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if Cancellation.objects.filter(customer=customer).exists():
        raise BillingError(_("This account has already been cancelled."))
    terms = cancellation_terms(customer, today=today)
    cancellation = Cancellation.objects.create(
        customer=customer,
        requested_by=actor.user,
        money_back=terms.money_back,
        service_ends_on=terms.service_ends_on,
    )
    ends_at = timezone.now() if terms.money_back else start_of_day(terms.service_ends_on + timedelta(days=1))
    Subscription.objects.filter(customer=customer, ended_at__isnull=True).update(ended_at=ends_at)
    record(
        actor,
        "account.cancelled",
        customer=customer,
        obj=cancellation,
        changes={
            "money_back": terms.money_back,
            "service_ends_on": terms.service_ends_on.isoformat(),
            "refund": str(terms.refund_total),
        },
    )
    if terms.money_back:
        _give_money_back(customer, terms, actor)
        _close(customer, cancellation, today=today)
    transaction.on_commit(lambda: deliver_account_email.delay(customer.pk, "account_cancelled"))
    return cancellation


def _give_money_back(customer: Customer, terms: CancellationTerms, actor: Actor) -> None:
    """Refund each online payment through Mollie and credit every invoice, paid or open."""
    reason = _("Money-back guarantee: cancelled within %(days)d days") % {"days": settings.MONEY_BACK_DAYS}
    for payment in terms.refunds:
        credit = issue_credit_invoice(original=payment.invoice, actor=actor, reason=reason)
        refund = refund_payment(payment=payment, reason=reason, actor=actor, credit_invoice=credit)
        Invoice.objects.filter(pk=credit.pk).update(
            status=Invoice.Status.PAID, paid_at=timezone.localdate(), payment_reference=refund.mollie_id
        )
    creditable = (
        Invoice.objects.for_customer(customer)
        .filter(
            status__in=[Invoice.Status.OPEN, Invoice.Status.PAID],
            credit_for__isnull=True,
            total_incl_vat__gt=0,
        )
        .filter(credit_invoices__isnull=True)
        .order_by("pk")
    )
    for invoice in creditable:
        issue_credit_invoice(original=invoice, actor=actor, reason=reason)


def _mark_mail_changed(customer: Customer) -> None:
    for domain in Domain.objects.for_customer(customer).select_related("mailhost"):
        mark_changed(domain, host=domain.mailhost)
    for mailbox in Mailbox.objects.for_customer(customer).select_related("domain__mailhost"):
        mark_changed(mailbox, host=mailbox.domain.mailhost)


def _close(customer: Customer, cancellation: Cancellation, *, today: date) -> None:
    """Mail stops: the customer's domains leave the mail hosts on their next apply."""
    customer.status = Customer.Status.CLOSED
    customer.save(update_fields=["status"])
    cancellation.closed_at = timezone.now()
    cancellation.delete_after = today + timedelta(days=settings.CLOSED_ACCOUNT_RETENTION_DAYS)
    cancellation.save(update_fields=["closed_at", "delete_after"])
    _mark_mail_changed(customer)
    record(
        Actor.system(),
        "account.closed",
        customer=customer,
        obj=cancellation,
        changes={"delete_after": cancellation.delete_after.isoformat()},
    )
    transaction.on_commit(lambda: deliver_account_email.delay(customer.pk, "account_closed"))


def advance_cancellations(*, today: date | None = None) -> tuple[int, int]:
    """Close the accounts whose last paid day has passed, delete those kept long enough. Safe to run twice."""
    today = today or timezone.localdate()
    closed = deleted = 0
    due = Cancellation.objects.filter(closed_at__isnull=True, service_ends_on__lt=today)
    for cancellation_id in due.values_list("pk", flat=True):
        closed += _close_due(cancellation_id, today=today)
    expired = Cancellation.objects.filter(
        closed_at__isnull=False, deleted_at__isnull=True, delete_after__lt=today
    )
    for cancellation_id in expired.values_list("pk", flat=True):
        deleted += delete_account_data(cancellation_id=cancellation_id)
    return closed, deleted


@transaction.atomic
def _close_due(cancellation_id: int, *, today: date) -> int:
    cancellation = Cancellation.objects.select_for_update().select_related("customer").get(pk=cancellation_id)
    if cancellation.closed_at is not None:
        return 0
    _close(cancellation.customer, cancellation, today=today)
    return 1


@transaction.atomic
def delete_account_data(*, cancellation_id: int) -> int:
    """Delete the closed account's mail for good: mailboxes and their folders, aliases, domains, DKIM keys."""
    cancellation = Cancellation.objects.select_for_update().select_related("customer").get(pk=cancellation_id)
    if cancellation.deleted_at is not None or cancellation.closed_at is None:
        return 0
    customer = cancellation.customer
    mailboxes = Mailbox.objects.for_customer(customer).select_related("domain__mailhost", "customer")
    counts = {"mailboxes": mailboxes.count(), "domains": Domain.objects.for_customer(customer).count()}
    for mailbox in mailboxes:
        purge_mailbox(mailbox=mailbox)
    for domain in Domain.objects.for_customer(customer).select_related("mailhost", "customer"):
        remove_domain(domain=domain, actor=Actor.system())
    cancellation.deleted_at = timezone.now()
    cancellation.save(update_fields=["deleted_at"])
    record(Actor.system(), "account.deleted", customer=customer, obj=cancellation, changes=counts)
    transaction.on_commit(lambda: deliver_account_email.delay(customer.pk, "account_deleted"))
    return 1


@transaction.atomic
def restore_account(*, customer: Customer, actor: Actor) -> None:
    """Staff undo a cancellation whose data is still there: mail is served again and the subscription runs on."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    cancellation = Cancellation.objects.filter(customer=customer).first()
    if cancellation is None:
        raise BillingError(_("%(customer)s has not been cancelled.") % {"customer": customer})
    if cancellation.deleted_at is not None:
        raise BillingError(
            _("The data of %(customer)s has already been deleted for good.") % {"customer": customer}
        )
    now = timezone.now()
    current = Subscription.objects.filter(customer=customer).order_by("-started_at", "-id").first()
    if current is not None and current.ended_at is not None and current.ended_at > now:
        current.ended_at = None
        current.save(update_fields=["ended_at"])
    else:
        Subscription.objects.create(
            customer=customer, plan=customer.plan, started_at=now, changed_by=actor.user
        )
    was_closed = customer.is_closed
    if was_closed:
        customer.status = Customer.Status.ACTIVE
        customer.save(update_fields=["status"])
        _mark_mail_changed(customer)
    record(
        actor,
        "account.restored",
        customer=customer,
        obj=customer,
        changes={"cancelled_at": cancellation.requested_at.isoformat(), "mail_was_stopped": was_closed},
    )
    cancellation.delete()
    transaction.on_commit(lambda: deliver_account_email.delay(customer.pk, "account_restored"))
