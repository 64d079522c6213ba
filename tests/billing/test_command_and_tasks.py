from datetime import date, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing import tasks
from billing.models import Invoice
from billing.services import previous_month


def run(*args) -> str:
    out = StringIO()
    call_command("invoices", *args, stdout=out)
    return out.getvalue()


def test_the_command_generates_a_month_and_is_safe_to_run_twice(customer, history):
    history(customer, [("basis", date(2026, 9, 1))])
    assert "1 invoice(s) issued" in run("generate", "--month", "2026-10")
    assert "0 invoice(s) issued, 1 customer(s) already invoiced" in run("generate", "--month", "2026-10")
    assert Invoice.objects.count() == 1


@pytest.mark.parametrize("month", ["2026-13", "october", "2026-1-1", ""])
def test_the_command_refuses_a_malformed_month(customer, month):
    with pytest.raises(CommandError):
        run("generate", "--month", month)


def test_the_command_refuses_a_month_that_is_not_over(customer):
    with pytest.raises(CommandError, match="not over"):
        run("generate", "--month", timezone.localdate().strftime("%Y-%m"))


def test_the_command_sends_reminders(customer, history, travel):
    history(customer, [("basis", date(2026, 9, 1))])
    run("generate", "--month", "2026-10")
    travel(Invoice.objects.get().due_date + timedelta(days=1))
    assert "Sent 1 overdue reminder(s)." in run("remind")
    assert "Sent 0 overdue reminder(s)." in run("remind")


def test_the_monthly_task_invoices_last_month(customer, history, django_capture_on_commit_callbacks):
    history(customer, [("basis", date(2025, 1, 1))])
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.generate_monthly_invoices() == 1
        assert tasks.generate_monthly_invoices() == 0
    invoice = Invoice.objects.get()
    assert invoice.period_start == previous_month(timezone.localdate())
    assert [m.to for m in mail.outbox] == [[customer.billing_email]]


def test_the_reminder_task_sends_each_reminder_once(
    customer, history, travel, django_capture_on_commit_callbacks
):
    history(customer, [("basis", date(2025, 1, 1))])
    tasks.generate_monthly_invoices()
    travel(Invoice.objects.get().due_date + timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.remind_overdue_invoices() == 1
        assert tasks.remind_overdue_invoices() == 0
    assert len(mail.outbox) == 1


def test_the_beat_schedule_names_real_tasks(settings):
    from postbode.celery import app

    app.loader.import_default_modules()
    for entry in ("generate-invoices", "remind-overdue-invoices"):
        assert settings.CELERY_BEAT_SCHEDULE[entry]["task"] in app.tasks
