"""The storage pool (the plan's storage shared out as mailbox quotas), measured usage and quota warnings."""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from tenants.emails import owner_addresses, send_customer_email, site_link
from tenants.models import Customer

from .. import usage
from ..models import Mailbox

# The storage pool ------------------------------------------------------------------------------------

MB = 10**6  # decimal units, as the product page sells storage
GB = 10**9
DEFAULT_QUOTA_BYTES = 1 * GB
MIN_QUOTA_BYTES = 10 * MB
QUOTA_WARNING_LEVELS = (95, 80)


@dataclass(frozen=True)
class PoolSummary:
    storage_bytes: int
    allocated_bytes: int
    used_bytes: int
    mailbox_count: int

    @property
    def free_bytes(self) -> int:
        return max(0, self.storage_bytes - self.allocated_bytes)

    @property
    def suggested_quota_bytes(self) -> int:
        return min(DEFAULT_QUOTA_BYTES, self.free_bytes)


def pool_summary(customer: Customer) -> PoolSummary:
    """The customer's storage pool: what the plan gives (storage), what is shared out as mailbox quotas
    (allocated), what mail fills (used) and what is still free to allocate."""
    totals = Mailbox.objects.filter(customer=customer, deleted_at__isnull=True).aggregate(
        allocated=Sum("quota_bytes"), used=Sum("used_bytes"), count=Count("pk")
    )
    return PoolSummary(
        storage_bytes=customer.plan.storage_bytes,
        allocated_bytes=totals["allocated"] or 0,
        used_bytes=totals["used"] or 0,
        mailbox_count=totals["count"] or 0,
    )


def lock_customer(customer: Customer) -> None:
    """Serialise a customer's address and pool changes (a row lock on PostgreSQL; SQLite locks the file)."""
    Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk", flat=True).first()


def check_quota_fits(customer: Customer, quota_bytes: int, *, replacing: int = 0) -> None:
    """Refuse a quota below the minimum or beyond what is left of the pool, saying what does fit."""
    if quota_bytes < MIN_QUOTA_BYTES:
        raise ValidationError(
            {"quota_mb": _("The quota must be at least %(min)d MB.") % {"min": MIN_QUOTA_BYTES // MB}}
        )
    lock_customer(customer)
    available = pool_summary(customer).free_bytes + replacing
    if quota_bytes > available:
        raise ValidationError(
            {
                "quota_mb": _(
                    "That does not fit in your plan's storage: at most %(available)d MB is left "
                    "(plan %(plan)d MB). Choose %(available)d MB or less, or make another mailbox smaller."
                )
                % {"available": available // MB, "plan": customer.plan.storage_bytes // MB}
            }
        )


# Usage and quota warnings ----------------------------------------------------------------------------


def warning_level(used_bytes: int, quota_bytes: int) -> int:
    """95, 80 or 0: the highest warning threshold the usage has reached."""
    if quota_bytes <= 0:
        return 0
    for level in QUOTA_WARNING_LEVELS:
        if used_bytes * 100 >= quota_bytes * level:
            return level
    return 0


def record_usage(*, mailbox: Mailbox, used_bytes: int, measured_at: datetime | None = None) -> bool:
    """Store a measurement; e-mail the owners when usage crosses 80% or 95% (once per crossing).

    Returns True when a warning was sent. The level is claimed with a conditional UPDATE, so two
    measurements racing each other send one e-mail.
    """
    measured_at = measured_at or timezone.now()
    level = warning_level(used_bytes, mailbox.quota_bytes)
    Mailbox.objects.filter(pk=mailbox.pk).update(used_bytes=used_bytes, usage_measured_at=measured_at)
    mailbox.used_bytes, mailbox.usage_measured_at = used_bytes, measured_at
    if level == mailbox.quota_warning_level:
        return False
    claimed = Mailbox.objects.filter(pk=mailbox.pk, quota_warning_level=mailbox.quota_warning_level).update(
        quota_warning_level=level
    )
    rising = level > mailbox.quota_warning_level
    mailbox.quota_warning_level = level
    if claimed and rising:
        send_quota_warning(mailbox, level)
        return True
    return False


def send_quota_warning(mailbox: Mailbox, level: int) -> None:
    context = {
        "mailbox": mailbox,
        "address": mailbox.unicode_address,
        "level": level,
        "used_bytes": mailbox.used_bytes,
        "quota_bytes": mailbox.quota_bytes,
        "mailbox_url": site_link("mailaccounts:mailbox_detail", mailbox.pk),
    }
    send_customer_email(
        customer=mailbox.customer,
        name="mailaccounts/email/quota_warning",
        context=context,
        to=owner_addresses(mailbox.customer),
    )


def measure_usage(*, mailboxes=None, batch_size: int = 1000) -> int:
    """Measure every live mailbox's Maildir on disk and record it. Returns how many were measured.

    Plain measurements are written in batches; a mailbox whose warning level changes goes through
    `record_usage`, which claims the level and sends the e-mail.
    """
    if mailboxes is None:
        mailboxes = Mailbox.objects.filter(deleted_at__isnull=True)
    measured_at = timezone.now()
    batch: list[Mailbox] = []
    count = 0
    for mailbox in mailboxes.select_related("domain__mailhost").iterator(chunk_size=batch_size):
        used_bytes = usage.measure_mailbox(mailbox)
        count += 1
        if warning_level(used_bytes, mailbox.quota_bytes) != mailbox.quota_warning_level:
            record_usage(mailbox=mailbox, used_bytes=used_bytes, measured_at=measured_at)
            continue
        mailbox.used_bytes, mailbox.usage_measured_at = used_bytes, measured_at
        batch.append(mailbox)
        if len(batch) >= batch_size:
            Mailbox.objects.bulk_update(batch, ["used_bytes", "usage_measured_at"])
            batch = []
    if batch:
        Mailbox.objects.bulk_update(batch, ["used_bytes", "usage_measured_at"])
    return count
