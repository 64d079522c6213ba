import os

import pytest
from django.core import mail as django_mail
from django.urls import reverse
from django.utils import timezone

from mailhosts.models import MailHost
from relay.models import RejectedAttempt
from spamfilter import services
from spamfilter.ingest import ingest_host
from spamfilter.models import LearnEvent, OutboundFlag, SpamHost, SpamResult
from tenants.audit import Actor

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


def scan_line(
    qid,
    *,
    action="no action",
    score="0.40",
    rcpts="jan@bakkerij.example",
    user="undef",
    symbols="MIME_GOOD(-0.10)",
    sender="a@elders.example",
    at="2026-12-06 05:52:27",
):
    return (
        f"{at} #7365(rspamd_proxy) <012d93>; proxy; rspamd_task_write_log: postbode-scan qid=<{qid}> "
        f"user=<{user}> action=<{action}> score=<{score}/15.00> symbols=<{symbols}> from=<{sender}> rcpts=<{rcpts}>\n"
    )


@pytest.fixture
def spam_host(tmp_path):
    host = MailHost.objects.default()
    return SpamHost.objects.create(
        mailhost=host, scan_log=str(tmp_path / "rspamd.log"), learn_log=str(tmp_path / "learn.log")
    )


def write(path, *lines, mode="a"):
    with open(path, mode) as log:
        log.write("".join(lines))


def test_each_recipient_gets_delivered_junk_or_refused_at_its_mailboxs_threshold(
    spam_host, make_mailbox, domain
):
    jan, piet = make_mailbox("jan"), make_mailbox("piet")
    services.update_mailbox_policy(
        actor=SYSTEM, mailbox=piet, inherits=False, is_enabled=True, sensitivity="relaxed", reject_score=15
    )
    write(
        spam_host.scan_log,
        "2026-12-06 05:52:20 #1(main) <x>; main; rspamd 3.4 is loading configuration\n",
        scan_line("AAAAA00001"),
        scan_line("AAAAA00002", score="7.40", rcpts="jan@bakkerij.example,piet@bakkerij.example"),
        scan_line("AAAAA00003", action="reject", score="15.00", symbols="GTUBE(0.00)"),
        scan_line("AAAAA00004", rcpts="info@bakkerij.example"),  # an alias: the domain counts it
    )
    assert ingest_host(spam_host) == 5
    assert services.mailbox_counts(jan) == {"delivered": 1, "junk": 1, "refused": 1, "learned": 0}
    assert services.mailbox_counts(piet) == {"delivered": 1, "junk": 0, "refused": 0, "learned": 0}
    assert services.domain_counts(domain)["delivered"] == 3


def test_ingesting_again_adds_nothing_and_a_rotated_log_is_finished_first(spam_host, mailbox):
    write(spam_host.scan_log, scan_line("BBBBB00001"), scan_line("BBBBB00002"))
    ingest_host(spam_host)
    spam_host.refresh_from_db()
    assert ingest_host(spam_host) == 0
    write(spam_host.scan_log, scan_line("BBBBB00003"), "2026-12-06 half a line")
    os.rename(spam_host.scan_log, spam_host.scan_log + ".1")
    write(spam_host.scan_log, scan_line("BBBBB00004"), mode="w")
    spam_host.refresh_from_db()
    ingest_host(spam_host)
    assert sorted(SpamResult.objects.values_list("queue_id", flat=True)) == [
        "BBBBB00001",
        "BBBBB00002",
        "BBBBB00003",
        "BBBBB00004",
    ]


def test_a_login_refused_repeatedly_within_an_hour_is_flagged_once_and_the_owner_emailed(
    spam_host, mailbox, settings, customer, owner, django_capture_on_commit_callbacks
):
    settings.SPAM_OUTBOUND_FLAG_AFTER = 3
    login = "relay-8f2k1"
    lines = [
        scan_line(
            f"CCCCC0000{n}",
            action="reject",
            score="15.00",
            user=login,
            sender="shop@bakkerij.example",
            rcpts=f"klant{n}@elders.example",
            symbols="GTUBE(0.00)",
            at=f"2026-12-06 05:{10 + n * 20}:00",
        )
        for n in range(3)
    ]
    write(spam_host.scan_log, *lines[:2])
    with django_capture_on_commit_callbacks(execute=True):
        ingest_host(spam_host)
    assert not OutboundFlag.objects.exists()  # two so far
    write(
        spam_host.scan_log,
        lines[2],
        scan_line(
            "CCCCC00009",
            action="reject",
            score="15.00",
            user=login,
            sender="shop@bakkerij.example",
            at="2026-12-06 05:55:00",
        ),
    )
    spam_host.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        ingest_host(spam_host)
    flag = OutboundFlag.objects.get()
    assert (flag.login, flag.customer, flag.refused) == (login, customer, 4)
    assert [m.to for m in django_mail.outbox] == [[owner.email]]
    assert login in django_mail.outbox[0].body and "stolen" in django_mail.outbox[0].body
    assert (
        django_mail.outbox[0].extra_headers["Auto-Submitted"] == "auto-generated"
    )  # no automatic reply to it

    write(
        spam_host.scan_log,
        scan_line(
            "CCCCC00010",
            action="reject",
            score="15.00",
            user=login,
            sender="shop@bakkerij.example",
            at="2026-12-06 05:56:00",
        ),
    )
    spam_host.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        ingest_host(spam_host)
    assert OutboundFlag.objects.count() == 1
    assert len(django_mail.outbox) == 1


def test_learning_is_counted_per_mailbox_even_when_the_same_line_repeats(spam_host, mailbox):
    line = "2026-12-06T04:54:05Z spam learned jan@bakkerij.example\n"
    write(
        spam_host.learn_log,
        line,
        "2026-12-06T04:54:05Z ham learned jan@bakkerij.example\n",
        line,
        "2026-12-06T04:54:06Z spam skipped nobody@elders.example\n",
        "garbage\n",
    )
    ingest_host(spam_host)
    assert list(LearnEvent.objects.order_by("pk").values_list("kind", flat=True)) == ["spam", "ham", "spam"]


def test_the_relay_log_shows_why_a_message_was_refused(spam_host, owner_client, customer, mailbox):
    write(spam_host.scan_log, scan_line("DDDDD00001", action="reject", score="15.00", symbols="GTUBE(0.00)"))
    ingest_host(spam_host)
    RejectedAttempt.objects.create(
        host=spam_host.mailhost.name,
        at=timezone.now(),
        queue_id="DDDDD00001",
        customer=customer,
        stage="END-OF-MESSAGE",
        recipient="jan@bakkerij.example",
        dsn="5.7.1",
        response="Gtube pattern",
        line_key=1,
    )
    page = owner_client.get(reverse("relay:message_list")).content.decode()
    assert "Refused as spam (score 15.00): known spam test text" in page
    spam_page = owner_client.get(reverse("spamfilter:mailbox", args=[mailbox.pk])).content.decode()
    assert "known spam test text" in spam_page


def test_staff_see_rspamds_status_and_the_flags_in_the_admin(staff_client, spam_host):
    spam_host.is_up, spam_host.status = True, {"version": "3.4", "scanned": 12, "actions": {"reject": 3}}
    spam_host.save()
    OutboundFlag.objects.create(login="relay-x", refused=5, first_refused_at=timezone.now())
    page = staff_client.get(reverse("admin:spamfilter_spamhost_changelist")).content.decode()
    assert "3.4" in page
    assert "relay-x" in staff_client.get(reverse("admin:spamfilter_outboundflag_changelist")).content.decode()
