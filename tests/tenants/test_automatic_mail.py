"""Every e-mail the panel sends says it was sent automatically (RFC 3834 `Auto-Submitted: auto-generated`), so
that no automatic reply answers it: the customer's own in Sieve (on the real stack:
tests/integration/test_mail_backend.py, `test_an_automatic_reply_leaves_the_panels_own_mail_alone`) or an
out-of-office elsewhere."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from backups import jobs
from backups.models import BackupRun
from billing.emails import send_account_email
from mailhosts.models import MailHost

pytestmark = pytest.mark.django_db


def automatic(message) -> bool:
    return message.extra_headers.get("Auto-Submitted") == "auto-generated" and "auto-generated" in str(
        message.message()["Auto-Submitted"]
    )


def test_a_customer_email_is_marked_automatic(customer):
    send_account_email(customer=customer, name="account_restored")  # through `send_customer_email`
    assert mail.outbox and all(automatic(message) for message in mail.outbox)


def test_sign_in_and_password_emails_are_marked_automatic(owner):
    Client().post("/accounts/password/reset/", {"email": owner.email})
    [message] = mail.outbox
    assert "password" in message.subject.lower() and automatic(message)


def test_staff_alerts_are_marked_automatic(staff, settings):
    settings.DB_BACKUP_ENABLED = False
    BackupRun.objects.create(
        host=MailHost.objects.default(),
        status="succeeded",
        started_at=timezone.now() - timedelta(hours=30),
        finished_at=timezone.now() - timedelta(hours=30),
    )
    assert jobs.check_backup_health()
    [message] = mail.outbox
    assert message.to == [staff.email] and automatic(message)
