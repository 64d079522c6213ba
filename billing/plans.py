"""Changing a customer's plan: the price difference it makes, and the change itself.

A plan's storage is a pool shared out as mailbox quotas, so a change that would not hold them is refused.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mailaccounts.services.storage import pool_summary
from tenants.audit import Actor, record
from tenants.models import Customer, Plan, Subscription, with_vat
from tenants.units import format_bytes

from .models import Cancellation, Invoice


@dataclass(frozen=True)
class PriceChange:
    old_excl: Decimal
    new_excl: Decimal

    @property
    def old_incl(self) -> Decimal:
        return with_vat(self.old_excl)

    @property
    def new_incl(self) -> Decimal:
        return with_vat(self.new_excl)

    @property
    def difference_excl(self) -> Decimal:
        return self.new_excl - self.old_excl

    @property
    def difference_incl(self) -> Decimal:
        return self.new_incl - self.old_incl


def preview_plan_change(*, customer: Customer, plan: Plan) -> PriceChange:
    return PriceChange(old_excl=customer.plan.price_monthly, new_excl=plan.price_monthly)


@transaction.atomic
def change_plan(*, customer: Customer, plan: Plan, actor: Actor) -> Subscription:
    """Close the open subscription and open one on `plan`, from today: the next invoice charges each plan for
    its days, so an upgrade costs its share and a downgrade's credit shows there. Refused when mailbox quotas
    exceed the plan's storage, for an upgrade while an invoice is overdue, and after a cancellation."""
    customer = Customer.objects.select_for_update().select_related("plan").get(pk=customer.pk)
    if plan.pk == customer.plan_id:
        raise ValidationError(_("You are already on the %(plan)s plan.") % {"plan": plan.name})
    if not plan.is_active:
        raise ValidationError(_("This plan is no longer available."))
    if Cancellation.objects.filter(customer=customer).exists():
        raise ValidationError(_("This account has been cancelled; its plan can no longer change."))
    if (
        plan.price_monthly > customer.plan.price_monthly
        and Invoice.objects.for_customer(customer).overdue().exists()
    ):
        raise ValidationError(
            _("An upgrade is possible once nothing is overdue. Please pay your overdue invoices first.")
        )
    allocated = pool_summary(customer).allocated_bytes
    if allocated > plan.storage_bytes:
        raise ValidationError(
            _(
                "Your mailboxes have %(allocated)s allocated, but %(plan)s includes %(storage)s. "
                "Lower mailbox quotas by %(excess)s before switching."
            )
            % {
                "allocated": format_bytes(allocated),
                "plan": plan.name,
                "storage": format_bytes(plan.storage_bytes),
                "excess": format_bytes(allocated - plan.storage_bytes),
            }
        )
    now = timezone.now()
    old_plan = customer.plan
    Subscription.objects.filter(customer=customer, ended_at__isnull=True).update(ended_at=now)
    subscription = Subscription.objects.create(
        customer=customer, plan=plan, started_at=now, changed_by=actor.user
    )
    customer.plan = plan
    customer.save(update_fields=["plan"])
    record(
        actor, "plan.changed", customer=customer, obj=customer, changes={"plan": [old_plan.code, plan.code]}
    )
    return subscription
