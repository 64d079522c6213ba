"""Issue 15, "test the whole class", on the real mail stack: after hostile values in every text field of every
form, everything the panel rendered is taken by the programs that read it.

The stack is deploy/'s templates run on loopback (`mailstack`), its files written by the Celery worker's
applies. After the hostile posts the last apply succeeds (postmap and the reload steps), and Dovecot takes every
file it reads: its configuration (`doveadm config`), every mailbox row of `dovecot/users.sqlite` through
`dovecot-sql.conf.ext` and the spam filter's `dovecot-userdb` (`doveadm user`, one by one and iterated), the
relay credentials' passwd-file and the SQL passdb (`doveadm auth test`), the webmail's master passdb (an IMAP
login as the webmail logs in) and every Sieve script at delivery. Its log has no error about any of it.
"""

import subprocess
import time

import pytest
from django.conf import settings

from mailaccounts.models import Mailbox
from relay.services import create_credential
from tenants.audit import Actor
from tests.integration.conftest import SourcedIMAP4_SSL, create_mailbox, wait_until

from .cast import Victim
from .test_hostile_input import HOSTILE, all_forms, post

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Herfst-Appelflap-2026"
APPLY_TIMEOUT = 180


def post_hostile_text_everywhere(client, victim) -> int:
    posts = 0
    for form in all_forms(client, victim):
        switched_on = {name: ["on"] for name, offered in form.choice_fields.items() if offered == ["on"]}
        for value in HOSTILE:
            post(
                client, form.action, form.data() | switched_on | {name: [value] for name in form.text_fields}
            )
            posts += 1
    return posts


def wait_until_applied(host) -> None:
    """Until the worker's applies reached the last change (or one failed: that is the test's answer)."""

    def settled():
        host.refresh_from_db()
        return host.applied_revision >= host.desired_revision or host.last_error

    wait_until(settled, timeout=APPLY_TIMEOUT, interval=0.5, what="the applies after the hostile posts")
    assert host.applied_revision >= host.desired_revision and not host.last_error, host.last_error


def doveadm(host, *arguments: str) -> subprocess.CompletedProcess:
    run = subprocess.run([*host.doveadm_command, *arguments], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "Error" not in run.stderr, (arguments, run.stdout, run.stderr)
    return run


def messages_in_inbox(host, address: str) -> int:
    run = doveadm(host, "search", "-u", address, "mailbox", "INBOX", "all")
    return len(run.stdout.split("\n")) - 1


def test_after_hostile_input_dovecot_takes_every_file_on_the_real_stack(
    owner_client, customer, member, stack_host, stack_domain, mailstack, mail, fresh
):
    log = mailstack.path("log", "dovecot.log")
    log_offset = log.stat().st_size if log.exists() else 0
    victim = Victim(customer, stack_domain, member)
    credential, secret = create_credential(
        customer=customer, name="webshop", domains=[stack_domain], actor=Actor.system()
    )
    assert post_hostile_text_everywhere(owner_client, victim) > 1000
    control = create_mailbox(stack_domain, fresh("controle"), PASSWORD)
    wait_until_applied(stack_host)

    # the configuration, as Dovecot reads it with every file it names
    doveadm(stack_host, "config", "-n")

    # every mailbox row (users.sqlite through dovecot-sql.conf.ext, then the spam filter's userdb)
    expected = {
        box.address
        for box in Mailbox.objects.filter(
            domain__mailhost=stack_host, deleted_at__isnull=True, is_enabled=True
        ).select_related("domain")
    }
    listed = set(doveadm(stack_host, "user", "*").stdout.split())
    assert listed == expected and control.address in listed
    for address in sorted(listed):
        user = doveadm(stack_host, "user", address).stdout
        assert f"home\t{mailstack.mail_dir}/" in user and "uid\t" in user, (address, user)

    # the passdbs: the mailboxes' (SQL) and the relay credentials' passwd-file
    assert "auth succeeded" in doveadm(stack_host, "auth", "test", control.address, PASSWORD).stdout
    assert "auth succeeded" in doveadm(stack_host, "auth", "test", credential.username, secret).stdout

    # every mailbox's Sieve scripts (automatic reply, spam filing) run at delivery
    for address in sorted(listed):
        before = messages_in_inbox(stack_host, address)
        mail.deliver(mail.message(sender=f"{fresh('klant')}@elders.example", to=address, subject="Controle"))
        wait_until(
            lambda a=address, n=before: messages_in_inbox(stack_host, a) > n, what=f"mail in {address}"
        )

    # the webmail's master passdb, into a mailbox whose home exists (its first delivery made it)
    imap = SourcedIMAP4_SSL(
        "127.0.0.1", mail.ports["imaps"], ssl_context=mail.tls, source_address=("127.0.0.1", 0), timeout=15
    )
    master_login = f"{control.address}\0{settings.WEBMAIL_MASTER_USER}\0{settings.WEBMAIL_MASTER_PASSWORD}"
    assert imap.authenticate("PLAIN", lambda _challenge: master_login.encode())[0] == "OK"
    imap.logout()

    time.sleep(0.5)  # Dovecot writes its log after it answered
    with open(log, "rb") as dovecot_log:
        dovecot_log.seek(log_offset)
        complaints = [
            line
            for line in dovecot_log.read().decode(errors="replace").splitlines()
            if any(word in line for word in ("Error:", "Fatal:", "Panic:", "Warning:"))
        ]
    assert not complaints, complaints
