"""A cancelled account's mail stops on the real stack: its mailboxes cannot log in and its mail is refused."""

import smtplib
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.cancellation import advance_cancellations, cancel_account
from tenants.audit import Actor
from tests.integration.conftest import create_mailbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Zomer-Appeltaart-2026"


def assert_mail_stopped(mail, mailbox, source: str) -> None:
    assert not mail.imap_login_works(mailbox.address, PASSWORD, source=source)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        mail.deliver(mail.message(sender="klant@elders.example", to=mailbox.address, subject="Nog open?"))


def test_cancelling_within_the_guarantee_stops_mailbox_logins_at_once(
    customer, owner, stack_domain, mail, fresh
):
    mailbox = create_mailbox(stack_domain, fresh("stop"), PASSWORD)
    mail.wait_live(mailbox)
    assert mail.imap_login_works(mailbox.address, PASSWORD)

    cancel_account(customer=customer, actor=Actor(user=owner))
    mail.wait_live(mailbox)

    assert_mail_stopped(mail, mailbox, "127.0.0.4")


def test_cancelling_after_the_guarantee_keeps_mail_until_the_period_ends(
    customer, owner, stack_domain, mail, fresh
):
    mailbox = create_mailbox(stack_domain, fresh("later"), PASSWORD)
    mail.wait_live(mailbox)
    day_40 = timezone.localdate() + timedelta(days=40)

    cancellation = cancel_account(customer=customer, actor=Actor(user=owner), today=day_40)
    assert not cancellation.money_back
    assert advance_cancellations(today=cancellation.service_ends_on) == (0, 0)
    assert mail.imap_login_works(mailbox.address, PASSWORD)  # the paid period runs on

    assert advance_cancellations(today=cancellation.service_ends_on + timedelta(days=1)) == (1, 0)
    mail.wait_live(mailbox)
    assert_mail_stopped(mail, mailbox, "127.0.0.5")
