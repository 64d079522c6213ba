"""The relay against the real mail stack: credentials, sending limits and the relay log, end to end.

Postfix, Dovecot and OpenDKIM run from deploy/'s templates (tests/integration/conftest.py); the stack's
policy service is `manage.py relaypolicy` on the test database and Redis; the relay log is ingested by the
real Celery task on the stack host's queue, triggered every 5 s as Celery beat would.
"""

import smtplib
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from relay.models import IngestState, RejectedAttempt, RelayLogSource, RelayMessage
from relay.services import create_credential
from relay.stack import restart_policy
from relay.tasks import ingest_all_hosts
from tenants.audit import Actor
from tests.integration.conftest import DEFAULT_TIMEOUT, database_url_of, redis_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BEAT_SECONDS = 5  # CELERY_BEAT_SCHEDULE["ingest-relay-logs"]
VISIBLE_WITHIN = 10


@pytest.fixture
def relay_policy(mailstack, celery_worker, django_db_blocker, settings):
    """The stack's policy service, restarted on the test database and Redis (the panel reads the same)."""
    with django_db_blocker.unblock():
        database_url = database_url_of(connection.settings_dict)
    settings.RELAY_POLICY_REDIS_URL = redis_url()
    restart_policy(mailstack, database_url=database_url, redis_url=redis_url())
    mailstack.wait_for_ports()
    return mailstack


@pytest.fixture
def log_source(stack_host, mailstack):
    return RelayLogSource.objects.create(mailhost=stack_host, path=str(mailstack.path("log", "postfix.log")))


@pytest.fixture
def credential(stack_domain, relay_policy, log_source, mail):
    credential, secret = create_credential(
        customer=stack_domain.customer, name="webshop", domains=[stack_domain], actor=Actor.system()
    )
    mail.wait_live(credential)
    credential.secret = secret
    return credential


def until_in_relay_log(find, *, what: str, timeout: float = VISIBLE_WITHIN):
    """Run the ingest task as beat does (now, then every 5 s) until `find()` returns something."""
    started = time.monotonic()
    next_run = started
    while True:
        if time.monotonic() >= next_run:
            ingest_all_hosts()
            next_run += BEAT_SECONDS
        found = find()
        if found:
            return found, time.monotonic() - started
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what} not in the relay log after {timeout}s")
        time.sleep(0.2)


def submit(mail, credential, *, sender, to, subject):
    message = mail.message(sender=sender, to=to, subject=subject)
    mail.submit(message, user=credential.username, password=credential.secret)
    return message


def test_a_message_through_a_relay_credential_is_sent_and_in_the_relay_log_within_ten_seconds(
    credential, stack_domain, mail, fresh, owner_client, outsider_client
):
    to = f"{fresh('klant')}@elders.example"
    message = submit(mail, credential, sender=f"shop@{stack_domain.name}", to=to, subject="Bestelling 1001")
    mail.wait_for_sink(to=to, subject="Bestelling 1001")
    message_id = message["Message-ID"].strip("<>")

    def sent():
        return RelayMessage.objects.filter(message_id=message_id, status="sent").first()

    logged, elapsed = until_in_relay_log(sent, what="the sent message")
    assert elapsed <= VISIBLE_WITHIN
    assert abs(logged.received_at - timezone.now()) < timedelta(minutes=2)  # the log's local time understood
    assert logged.customer == stack_domain.customer
    assert logged.credential == credential
    assert logged.sasl_username == credential.username
    assert list(logged.recipients.values_list("address", "status")) == [(to, "sent")]
    credential.refresh_from_db()
    assert credential.last_used_at is not None

    page = owner_client.get(reverse("relay:message_list"), {"message_id": message_id})
    assert [m.pk for m in page.context["page"].messages] == [logged.pk]
    assert owner_client.get(reverse("relay:message_detail", args=[logged.pk])).status_code == 200
    assert outsider_client.get(reverse("relay:message_detail", args=[logged.pk])).status_code == 404
    assert message_id not in outsider_client.get(reverse("relay:message_list")).content.decode()


def test_a_wrong_secret_is_refused(credential, mail):
    # From another loopback address: Dovecot slows down every login from an address with failures.
    with smtplib.SMTP(
        "127.0.0.1", mail.ports["submission"], timeout=DEFAULT_TIMEOUT, source_address=("127.0.0.5", 0)
    ) as smtp:
        smtp.starttls(context=mail.tls)
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login(credential.username, credential.secret + "x")


def test_a_credential_sending_as_a_foreign_domain_is_refused_and_logged_for_its_own_customer(
    credential, mail, fresh, other_customer
):
    sender = f"{fresh('ceo')}@concurrent.example"
    with pytest.raises((smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused)) as refused:
        submit(mail, credential, sender=sender, to=f"{fresh('x')}@elders.example", subject="Nep")
    assert b"not owned by user" in str(refused.value).encode() or "553" in str(refused.value)

    def rejected():
        return RejectedAttempt.objects.filter(sender=sender).first()

    attempt, _elapsed = until_in_relay_log(rejected, what="the refused attempt")
    assert attempt.customer == credential.customer
    assert attempt.credential == credential
    assert attempt.dsn == "5.7.1"
    assert not RejectedAttempt.objects.filter(customer=other_customer).exists()


def test_the_hourly_limit_defers_messages_past_the_limit(credential, stack_domain, mail, fresh, owner_client):
    plan = stack_domain.customer.plan
    plan.hourly_send_limit = 2
    plan.save(update_fields=["hourly_send_limit"])
    sender = f"shop@{stack_domain.name}"
    for number in (1, 2):
        submit(mail, credential, sender=sender, to=f"{fresh('k')}@elders.example", subject=f"Binnen {number}")
    over = f"{fresh('k')}@elders.example"
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        submit(mail, credential, sender=sender, to=over, subject="Te veel")
    code, answer = refused.value.recipients[over]
    assert code == 450
    assert b"4.7.1" in answer

    def deferred():
        return RejectedAttempt.objects.filter(recipient=over).first()

    attempt, _elapsed = until_in_relay_log(deferred, what="the deferred attempt")
    assert attempt.dsn == "4.7.1"
    assert attempt.customer == stack_domain.customer
    page = owner_client.get(reverse("relay:credential_list"))
    assert page.context["credentials"] == [(credential, 2)]


def refuse_in_one_second(mail, credential, *, sender, to, times):
    """A client retrying past its limit on one connection: one smtpd process, so the refusals' log lines
    are byte-identical when they fall in the same second (the burst takes a few milliseconds)."""
    smtp = smtplib.SMTP("127.0.0.1", mail.ports["submission"], timeout=DEFAULT_TIMEOUT)
    with smtp:
        smtp.starttls(context=mail.tls)
        smtp.login(credential.username, credential.secret)
        for _ in range(times):
            smtp.mail(sender)
            code, _answer = smtp.rcpt(to)
            assert code == 450
            smtp.rset()


def test_identical_refusals_in_one_second_are_separate_attempts_and_reading_again_adds_none(
    credential, stack_domain, mail, fresh, mailstack
):
    plan = stack_domain.customer.plan
    plan.hourly_send_limit = 1
    plan.save(update_fields=["hourly_send_limit"])
    sender = f"shop@{stack_domain.name}"
    submit(mail, credential, sender=sender, to=f"{fresh('k')}@elders.example", subject="Binnen")
    log = mailstack.path("log", "postfix.log")
    for _attempt in range(5):
        over = f"{fresh('k')}@elders.example"
        refuse_in_one_second(mail, credential, sender=sender, to=over, times=5)
        time.sleep(0.3)  # postlogd writes the lines
        lines = [line for line in log.read_text().splitlines() if "NOQUEUE: reject" in line and over in line]
        if len(set(lines)) == 1:  # all five in one second: byte-identical
            break
    assert len(lines) == 5 and len(set(lines)) == 1, lines

    def all_five():
        count = RejectedAttempt.objects.filter(recipient=over).count()
        return count if count >= 5 else None

    count, _elapsed = until_in_relay_log(all_five, what="five refusals")
    assert count == 5
    size = log.stat().st_size
    IngestState.objects.filter(path=str(log)).update(offset=0)  # the whole log read again

    def read_again():
        return IngestState.objects.filter(path=str(log), offset__gte=size).exists()

    until_in_relay_log(read_again, what="the log read again")
    assert RejectedAttempt.objects.filter(recipient=over).count() == 5
    assert RejectedAttempt.objects.filter(recipient=over, dsn="4.7.1").count() == 5
