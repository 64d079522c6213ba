"""The panel's changes reach real Postfix and Dovecot through a real Celery worker (issue 4)."""

import smtplib

import pytest

from tests.integration.conftest import change, create_mailbox, dovecot_hash

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Zomer-Appeltaart-2026"


def test_a_new_mailbox_goes_live_receives_mail_and_is_read_over_imaps_and_pop3s(stack_domain, mail, fresh):
    mailbox = create_mailbox(stack_domain, fresh("jan"), PASSWORD)
    assert mailbox.live_state in {"pending", "live"}
    mail.wait_live(mailbox)

    mail.deliver(mail.message(sender="klant@elders.example", to=mailbox.address, subject="Bestelling 42"))

    received = mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Bestelling 42")
    assert received["From"] == "klant@elders.example"
    pop3 = mail.pop3_messages(mailbox.address, PASSWORD)
    assert [m["Subject"] for m in pop3] == ["Bestelling 42"]


def test_password_change_refuses_the_old_password_and_accepts_the_new_one(stack_domain, mail, fresh):
    mailbox = create_mailbox(stack_domain, fresh("wachtwoord"), PASSWORD)
    mail.wait_live(mailbox)
    assert mail.imap_login_works(mailbox.address, PASSWORD)

    change(mailbox, password_hash=dovecot_hash("Nieuw-Wachtwoord-77"))
    mail.wait_live(mailbox)

    assert mail.imap_login_works(mailbox.address, "Nieuw-Wachtwoord-77")
    assert not mail.imap_login_works(mailbox.address, PASSWORD, source="127.0.0.2")


def test_a_disabled_mailbox_cannot_log_in_and_its_mail_is_rejected(stack_domain, mail, fresh):
    mailbox = create_mailbox(stack_domain, fresh("uit"), PASSWORD)
    mail.wait_live(mailbox)
    change(mailbox, is_enabled=False)
    mail.wait_live(mailbox)

    assert not mail.imap_login_works(mailbox.address, PASSWORD, source="127.0.0.3")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        mail.deliver(mail.message(sender="klant@elders.example", to=mailbox.address, subject="Nog iemand?"))
    code, reply = refused.value.recipients[mailbox.address]
    assert code == 550
    assert b"5.2.1" in reply


def test_unauthenticated_relay_on_port_25_is_denied(stack_domain, mail):
    message = mail.message(
        sender="spammer@elders.example", to="slachtoffer@elders.example", subject="Koop nu"
    )
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        mail.deliver(message)
    code, reply = refused.value.recipients["slachtoffer@elders.example"]
    assert code == 554
    assert b"5.7.1" in reply and b"Relay access denied" in reply
    assert mail.sink_messages(to="slachtoffer@elders.example") == []
