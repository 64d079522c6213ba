"""Celery tasks of billing. Thin: work out the date, call the service, return."""

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task
def generate_monthly_invoices() -> int:
    """On the first of the month: invoice the month that just ended. Safe to run twice."""
    month = services.previous_month(timezone.localdate())
    return len(services.generate_invoices(month=month).created)


@shared_task
def remind_overdue_invoices() -> int:
    return services.send_overdue_reminders()
