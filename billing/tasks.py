"""Celery tasks of billing. Thin: work out the date, call the service, return."""

from celery import shared_task
from django.utils import timezone

from . import cancellation, payments, services


@shared_task
def generate_monthly_invoices() -> int:
    """On the first of the month: invoice the month that just ended and start the direct debits. Safe to
    run twice."""
    month = services.previous_month(timezone.localdate())
    created = len(services.generate_invoices(month=month).created)
    payments.collect_open_invoices()
    return created


@shared_task
def remind_overdue_invoices() -> int:
    return services.send_overdue_reminders()


@shared_task
def collect_open_invoices() -> int:
    return payments.collect_open_invoices()


@shared_task
def suspend_unpaid_customers() -> int:
    return payments.suspend_unpaid_customers()


@shared_task
def advance_cancellations() -> int:
    closed, deleted = cancellation.advance_cancellations()
    return closed + deleted
