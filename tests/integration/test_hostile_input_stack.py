"""Issue 15, "test the whole class", on the real mail stack: after hostile values in every text field of every
form, everything the panel rendered is taken by the programs that read it.

The stack is deploy/'s templates run on loopback (`mailstack`), its files written by the Celery worker's
applies. After the hostile posts the last apply succeeds (postmap and the reload steps), and Dovecot takes every
file it reads: its configuration (`doveadm config`), every mailbox row of `dovecot/users.sqlite` through
`dovecot-sql.conf.ext` and the spam filter's `dovecot-userdb` (`doveadm user`, one by one and iterated), the
relay credentials' passwd-file and the SQL passdb (`doveadm auth test`), the webmail's credential passdb (an
IMAP login as the webmail logs in) and every Sieve script at delivery. Its log has no error about any of it.
"""

import subprocess
import time

import pytest

from mailaccounts.models import Mailbox
from relay.services import create_credential
from tenants.audit import Actor
from tests.integration.conftest import create_mailbox, wait_until
from tests.security.cast import Victim
from tests.security.test_hostile_input import HOSTILE, all_forms, post
from webmail import credentials as webmail_credentials

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Herfst-Appelflap-2026"
APPLY_TIMEOUT = 180


# A valid value for each text field the hostile value is not in, so a form with several fields can accept it
# (a hostile display name is stored only with a valid local part, quota and password beside it).
PLAUSIBLE = {
    "email": "collega@example.com",
    "name": "webshop",
    "local_part": "kassa",
    "display_name": "Kassa",
    "password1": "Zeer-Lang-Wachtwoord-9",
    "password2": "Zeer-Lang-Wachtwoord-9",
    "quota_mb": "10",
    "forward_to": "boekhouder@example.org",
    "destinations": "boekhouder@example.org",
    "body": "Ik ben er weer op maandag.",
    "subject": "Afwezig",
    "interval_days": "1",
    "html": "<p>Groet</p>",
    "text": "Groet",
    "selector": "pb202612",
    "dmarc_report_email": "dmarc@example.org",
    "entries": "spam@example.net",
    "reject_score": "15",
    "junk_days": "30",
}
PAIRED = {"password1": "password2", "password2": "password1"}


def post_hostile_text_everywhere(client, victim) -> tuple[int, int]:
    """Each hostile value into one text field at a time (a password into both of its fields), the other
    fields valid and every switch on. Returns (posts, accepted): an accepted post stored a hostile value."""
    posts = accepted = 0
    for form in all_forms(client, victim):
        switched_on = {name: ["on"] for name, offered in form.choice_fields.items() if offered == ["on"]}
        base = form.data() | switched_on
        for name in form.text_fields:
            if not (base.get(name) or [""])[0].strip() and name in PLAUSIBLE:
                base[name] = [PLAUSIBLE[name]]
        for field in sorted(form.text_fields):
            for value in HOSTILE:
                posts += 1
                data = base | {field: [value]} | ({PAIRED[field]: [value]} if field in PAIRED else {})
                if "local_part" in data and field != "local_part":
                    data["local_part"] = [f"kassa{posts}"]  # a new address each time
                status = post(client, form.action, data)
                assert status < 500, (form.action, field, value)
                accepted += status in (301, 302)
    return posts, accepted


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
    posts, accepted = post_hostile_text_everywhere(owner_client, victim)
    print(f"{posts} hostile posts, {accepted} accepted")
    assert posts > 2000 and accepted > 300, (posts, accepted)
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

    # every mailbox's Sieve scripts (automatic reply, spam filing) run at delivery: one message to all
    before = {address: messages_in_inbox(stack_host, address) for address in listed}
    message = mail.message(sender=f"{fresh('klant')}@elders.example", to=control.address, subject="Controle")
    mail.deliver(message, recipients=sorted(listed))
    for address in sorted(listed):
        wait_until(lambda a=address: messages_in_inbox(stack_host, a) > before[a], what=f"mail in {address}")

    # the webmail's credential passdb (checkpassword), into a mailbox whose home exists (its first delivery
    # made it), from the webmail's own address as Roundcube logs in
    credential, _expires = webmail_credentials.make_credential(stack_host, control.address)
    if not mail.imap_login_works(control.address, credential):
        time.sleep(0.5)
        with open(log, "rb") as dovecot_log:
            dovecot_log.seek(log_offset)
            told = [
                line for line in dovecot_log.read().decode(errors="replace").splitlines() if "auth" in line
            ]
        pytest.fail(f"the webmail's credential was refused; Dovecot's auth log: {told[-15:]}")

    time.sleep(0.5)  # Dovecot writes its log after it answered
    with open(log, "rb") as dovecot_log:
        dovecot_log.seek(log_offset)
        complaints = [
            line
            for line in dovecot_log.read().decode(errors="replace").splitlines()
            if any(word in line for word in ("Error:", "Fatal:", "Panic:", "Warning:"))
        ]
    assert not complaints, complaints
