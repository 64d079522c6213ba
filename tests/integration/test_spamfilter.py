"""The spam filter on the real stack: rspamd as Postfix's milter, the panel's settings rendered for rspamd and
into each mailbox's Sieve, learning from the Junk folder over IMAP (issue 17).

Probable spam is made on demand: the test stack's rspamd gives a message with the header
`X-Postbode-Test-Spam: probable` a fixed 7 points (spamfilter/stack.py); GTUBE is certain spam (rspamd
refuses it outright). Every setting goes through the panel's services (or its pages) and is awaited live.
"""

import base64
import email
import re
import smtplib
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from email.policy import default as default_policy

import dkim
import pytest
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core import mail as django_mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from mailaccounts.services import autoresponders
from relay.services import create_credential
from spamfilter import services
from spamfilter.ingest import ingest_host
from spamfilter.models import LearnEvent, OutboundFlag, SpamHost, SpamResult, Verdict
from spamfilter.stack import attach
from spamfilter.status import check_status
from tenants.audit import Actor
from tests.integration.conftest import create_mailbox, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Zomer-Appeltaart-2026"
SYSTEM = Actor.system()
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
PROBABLE = {"X_Postbode_Test_Spam": "probable"}
# Bayes learns only from messages with enough words.
LONG_BODY = (
    "Beste klant, wij bieden vandaag een bijzondere aanbieding op horloges, tassen en zonnebrillen aan. "
    "Bestel nu en ontvang gratis verzending naar elk adres in Nederland en België. "
)


@pytest.fixture
def spam_host(mailstack, stack_host):
    attach(mailstack, stack_host)
    return SpamHost.objects.get(mailhost=stack_host)


def refused(mail, message) -> tuple[int, str]:
    with pytest.raises(smtplib.SMTPDataError) as error:
        mail.deliver(message)
    return error.value.smtp_code, error.value.smtp_error.decode()


def folder_subjects(mail, user: str, folder: str) -> list[str]:
    client = mail.imap(user, PASSWORD)
    try:
        client.select(folder, readonly=True)
        _status, data = client.search(None, "ALL")
        subjects = []
        for number in data[0].split():
            _status, parts = client.fetch(number, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            subjects.append(email.message_from_bytes(parts[0][1], policy=default_policy)["Subject"])
        return subjects
    finally:
        client.logout()


def wait_in_folder(mail, user: str, folder: str, subject: str) -> None:
    wait_until(
        lambda: subject in folder_subjects(mail, user, folder), what=f"{subject!r} in {user}'s {folder}"
    )


def learned() -> dict[str, int]:
    """rspamd's Bayes counters in its Redis database (`rspamc stat` lags behind)."""
    stats = redis.Redis.from_url(settings.MAILSTACK_RSPAMD_REDIS_URL).hgetall("RS")
    return {"spam": int(stats.get(b"learns_spam", 0)), "ham": int(stats.get(b"learns_ham", 0))}


def test_gtube_is_refused_during_smtp_and_an_ordinary_message_reaches_the_inbox(stack_domain, mail, fresh):
    mailbox = create_mailbox(stack_domain, fresh("jan"), PASSWORD)
    mail.wait_live(mailbox)

    code, reply = refused(
        mail, mail.message(sender="x@elders.example", to=mailbox.address, subject="g", body=GTUBE)
    )
    assert code == 554
    assert "5.7.1" in reply

    mail.deliver(mail.message(sender="klant@elders.example", to=mailbox.address, subject="Bestelling 7"))
    received = mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Bestelling 7")
    assert received["X-Spamd-Bar"] is not None  # rspamd saw it
    assert "GTUBE" not in str(received)


def test_probable_spam_goes_to_junk_and_to_the_inbox_when_the_mailbox_filter_is_off(
    stack_domain, mail, fresh
):
    mailbox = create_mailbox(stack_domain, fresh("piet"), PASSWORD)
    mail.wait_live(mailbox)

    mail.deliver(mail.message(sender="s1@elders.example", to=mailbox.address, subject="Koopje 1", **PROBABLE))
    wait_in_folder(mail, mailbox.address, "Junk", "Koopje 1")
    assert "Koopje 1" not in folder_subjects(mail, mailbox.address, "INBOX")

    policy = services.update_mailbox_policy(
        actor=SYSTEM, mailbox=mailbox, inherits=False, is_enabled=False, sensitivity="normal", reject_score=15
    )
    mail.wait_live(policy)
    mail.deliver(mail.message(sender="s2@elders.example", to=mailbox.address, subject="Koopje 2", **PROBABLE))
    mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Koopje 2")
    assert "Koopje 2" not in folder_subjects(mail, mailbox.address, "Junk")


def test_a_sender_on_the_allow_list_reaches_the_inbox_and_one_on_the_block_list_is_refused(
    stack_domain, mail, fresh
):
    mailbox = create_mailbox(stack_domain, fresh("kees"), PASSWORD)
    mail.wait_live(mailbox)
    services.add_list_entries(
        actor=SYSTEM, domain=stack_domain, mailbox=mailbox, kind="allow", text="vriend@aanbieding.example"
    )
    services.add_list_entries(
        actor=SYSTEM, domain=stack_domain, mailbox=mailbox, kind="block", text="@aanbieding.example"
    )
    mail.wait_live(services.mailbox_policy(mailbox))

    mail.deliver(
        mail.message(
            sender="vriend@aanbieding.example", to=mailbox.address, subject="Van een vriend", **PROBABLE
        )
    )
    mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Van een vriend")
    code, reply = refused(
        mail, mail.message(sender="reclame@aanbieding.example", to=mailbox.address, subject="x")
    )
    assert code == 554
    assert "does not accept mail from this sender" in reply
    assert "Van een vriend" not in folder_subjects(mail, mailbox.address, "Junk")


def test_a_domain_setting_changed_in_the_panel_is_live_and_the_next_message_is_refused(
    stack_domain, mail, fresh, owner_client
):
    mailbox = create_mailbox(stack_domain, fresh("els"), PASSWORD)
    mail.wait_live(mailbox)
    mail.deliver(
        mail.message(sender="s3@elders.example", to=mailbox.address, subject="Eerst nog", **PROBABLE)
    )
    wait_in_folder(mail, mailbox.address, "Junk", "Eerst nog")

    url = reverse("spamfilter:domain", args=[stack_domain.pk])
    response = owner_client.post(url, {"is_enabled": "on", "sensitivity": "strict", "reject_score": "6"})
    assert response.status_code == 302
    policy = services.domain_policy(stack_domain)
    mail.wait_live(policy)
    assert 'data-live-state="live"' in owner_client.get(url).content.decode()

    code, reply = refused(
        mail, mail.message(sender="s4@elders.example", to=mailbox.address, subject="Nu", **PROBABLE)
    )
    assert code == 554
    assert "Spam message rejected" in reply


def test_moving_into_junk_learns_spam_moving_back_learns_ham_and_deleting_teaches_nothing(
    stack_domain, mail, fresh, spam_host
):
    # rspamd's own Redis database: start from an untrained filter (it refuses to learn what it is already
    # sure about), with words it has never seen
    redis.Redis.from_url(settings.MAILSTACK_RSPAMD_REDIS_URL).flushdb()
    mailbox = create_mailbox(stack_domain, fresh("leer"), PASSWORD)
    mail.wait_live(mailbox)
    subject = f"Aanbieding {uuid.uuid4().hex[:6]}"
    words = " ".join(uuid.uuid4().hex[:8] for _ in range(20))
    mail.deliver(
        mail.message(
            sender="shop@elders.example", to=mailbox.address, subject=subject, body=f"{LONG_BODY} {words}"
        )
    )
    mail.wait_for_inbox(mailbox.address, PASSWORD, subject=subject)
    before = learned()

    client = mail.imap(mailbox.address, PASSWORD)
    client.select("INBOX")
    client._simple_command("MOVE", "1:*", "Junk")
    wait_until(lambda: learned()["spam"] == before["spam"] + 1, what="rspamd to learn spam")

    client.select("Junk")
    client._simple_command("MOVE", "1:*", "INBOX")
    wait_until(lambda: learned()["ham"] == before["ham"] + 1, what="rspamd to learn ham")
    after_ham = learned()

    client.logout()

    # probable spam filed into Junk on delivery teaches nothing; deleting it from Junk neither
    mail.deliver(
        mail.message(sender="s9@elders.example", to=mailbox.address, subject="Weg ermee", **PROBABLE)
    )
    wait_in_folder(mail, mailbox.address, "Junk", "Weg ermee")
    client = mail.imap(mailbox.address, PASSWORD)
    client.select("Junk")
    client.store("1:*", "+FLAGS", "\\Deleted")
    client.expunge()
    client.logout()
    time.sleep(2)
    assert learned() == after_ham

    ingest_host(spam_host)
    kinds = list(
        LearnEvent.objects.filter(mailbox=mailbox).order_by("at", "pk").values_list("kind", flat=True)
    )
    assert kinds == ["spam", "ham"]
    assert services.mailbox_counts(mailbox)["learned"] == 2


def test_counts_and_reasons_come_from_rspamds_log(stack_domain, mail, fresh, spam_host):
    mailbox = create_mailbox(stack_domain, fresh("tel"), PASSWORD)
    mail.wait_live(mailbox)
    mail.deliver(mail.message(sender="a@elders.example", to=mailbox.address, subject="Gewoon"))
    mail.deliver(mail.message(sender="b@elders.example", to=mailbox.address, subject="Junk", **PROBABLE))
    refused(mail, mail.message(sender="c@elders.example", to=mailbox.address, subject="G", body=GTUBE))
    wait_in_folder(mail, mailbox.address, "Junk", "Junk")

    def counted():
        ingest_host(spam_host)
        return services.mailbox_counts(mailbox)

    counts = wait_until(lambda: (c := counted())["refused"] and c, what="the refusal in rspamd's log")
    assert (counts["delivered"], counts["junk"], counts["refused"]) == (1, 1, 1)
    result = SpamResult.objects.get(mailbox=mailbox, verdict=Verdict.REFUSED)
    assert result.reasons == ["known spam test text"]


def test_gtube_sent_through_a_relay_credential_is_refused_and_repeated_refusals_flag_it(
    stack_domain, mail, fresh, spam_host, settings
):
    settings.SPAM_OUTBOUND_FLAG_AFTER = 3
    credential, secret = create_credential(
        customer=stack_domain.customer, name="Webshop", domains=[stack_domain], actor=SYSTEM
    )
    mail.wait_live(credential)
    for n in range(3):
        message = mail.message(
            sender=f"shop@{stack_domain.name}",
            to=f"klant{n}@elders.example",
            subject="Aanbieding",
            body=GTUBE,
        )
        with pytest.raises(smtplib.SMTPDataError) as error:
            mail.submit(message, user=credential.username, password=secret)
        assert error.value.smtp_code == 554

    django_mail.outbox.clear()
    wait_until(lambda: ingest_host(spam_host) or OutboundFlag.objects.exists(), what="the flag")
    flag = OutboundFlag.objects.get()
    assert (flag.login, flag.customer, flag.refused) == (credential.username, stack_domain.customer, 3)
    assert [m.to for m in django_mail.outbox] == [[stack_domain.customer.memberships.get().user.email]]
    assert credential.username in django_mail.outbox[0].body


def test_hostile_list_entries_are_refused_and_the_rendered_files_stay_valid(
    stack_domain, mail, fresh, mailstack, tmp_path
):
    mailbox = create_mailbox(stack_domain, fresh("vijand"), PASSWORD)
    mail.wait_live(mailbox)
    hostile = [
        "a@b.example\nreject = 0;",
        "#@b.example",
        "/.*/@b.example",
        "*@b.example",
        'x"; } settings { a@b.example',
        "a|b@c.example",
        "@b.example } if true { discard; }",
    ]
    for entry in hostile:
        with pytest.raises(ValidationError):
            services.add_list_entries(
                actor=SYSTEM, domain=stack_domain, mailbox=mailbox, kind="block", text=entry
            )
    services.add_list_entries(
        actor=SYSTEM,
        domain=stack_domain,
        mailbox=mailbox,
        kind="allow",
        text="Jan@Bäckerei.example\n@Xn--bckerei-5wa.example",
    )
    policy = services.update_mailbox_policy(
        actor=SYSTEM, mailbox=mailbox, inherits=False, is_enabled=True, sensitivity="strict", reject_score=9
    )
    mail.wait_live(policy)
    assert sorted(e.value for e in services.list_entries(stack_domain, mailbox)) == [
        "@xn--bckerei-5wa.example",
        "jan@xn--bckerei-5wa.example",
    ]

    rspamd_dir = mailstack.path("rspamd")
    check = subprocess.run(
        [
            "rspamadm",
            f"--var=LOCAL_CONFDIR={rspamd_dir}",
            f"--var=DBDIR={rspamd_dir}/db",
            "configtest",
            "-c",
            f"{rspamd_dir}/rspamd.conf",
        ],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    script = mailstack.config_dir / "spamfilter" / "sieve" / "strict.sieve"
    user = subprocess.run(
        ["doveadm", "-c", str(mailstack.dovecot_conf), "user", mailbox.address],
        capture_output=True,
        text=True,
    )
    assert f"sieve_before\tfile:{script};bindir=~/sieve-spam-bin" in user.stdout
    compiled = subprocess.run(
        # into a file of its own: sievec replaces its output file, and /dev/null would become a plain file
        ["sievec", "-c", str(mailstack.dovecot_conf), str(script), str(tmp_path / "strict.svbin")],
        capture_output=True,
        text=True,
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    assert '"++++*"' in script.read_text()


def test_the_junk_folder_keeps_mail_as_long_as_the_mailbox_says(stack_domain, mail, fresh, mailstack):
    mailbox = create_mailbox(stack_domain, fresh("bewaar"), PASSWORD)
    policy = services.update_mailbox_policy(
        actor=SYSTEM,
        mailbox=mailbox,
        inherits=True,
        is_enabled=True,
        sensitivity="normal",
        reject_score=15,
        junk_days=7,
    )
    mail.wait_live(policy)
    user = subprocess.run(
        ["doveadm", "-c", str(mailstack.dovecot_conf), "user", mailbox.address],
        capture_output=True,
        text=True,
    )
    assert "namespace/inbox/mailbox/Junk/autoexpunge\t7d" in user.stdout


# --- SPF, DKIM and DMARC, answered by the tests' own DNS server ------------------------------------------------


def dkim_key() -> tuple[bytes, str]:
    """A fresh RSA key: the private key for dkimpy and the public key as a DKIM record's p= value."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(public).decode()


def txt(value: str) -> str:
    """A TXT record's data, split into strings of at most 255 bytes."""
    return " ".join(f'"{value[i : i + 250]}"' for i in range(0, len(value), 250))


def publish_sender_domain(dns_server, domain: str, *, spf: str, dmarc: str | None = None) -> bytes:
    """SPF, a DKIM key (selector "post") and optionally DMARC for `domain`; returns the DKIM private key."""
    private, public = dkim_key()
    zone = [
        f"{domain}. 60 IN TXT {txt(spf)}",
        f"post._domainkey.{domain}. 60 IN TXT {txt(f'v=DKIM1; k=rsa; p={public}')}",
    ]
    if dmarc:
        zone.append(f"_dmarc.{domain}. 60 IN TXT {txt(dmarc)}")
    dns_server.add_zone("\n".join(zone) + "\n")
    return private


def signed(message, domain: str, private: bytes) -> bytes:
    raw = message.as_bytes()
    signature = dkim.sign(
        raw, b"post", domain.encode(), private, include_headers=[b"from", b"to", b"subject", b"message-id"]
    )
    return signature + raw


def deliver_raw(mail, sender: str, recipient: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", mail.ports["smtp"], timeout=15) as smtp:
        smtp.ehlo("mx.elders.example")
        smtp.sendmail(sender, [recipient], raw)


def spamd_symbols(message) -> dict[str, float]:
    """rspamd's symbols and their scores from the X-Spamd-Result header of a delivered message."""
    result = " ".join(str(message["X-Spamd-Result"]).split())
    return {name: float(score) for name, score in re.findall(r"([A-Z0-9_]+)\((-?[\d.]+)\)", result)}


def test_a_sender_passing_spf_dkim_and_dmarc_is_credited_and_reaches_the_inbox(
    stack_domain, mail, fresh, dns_server
):
    mailbox = create_mailbox(stack_domain, fresh("echt"), PASSWORD)
    sender_domain = f"{fresh('molen')}.example"
    private = publish_sender_domain(
        dns_server, sender_domain, spf="v=spf1 ip4:127.0.0.1 -all", dmarc="v=DMARC1; p=reject"
    )
    mail.wait_live(mailbox)
    sender = f"info@{sender_domain}"
    message = mail.message(sender=sender, to=mailbox.address, subject="Meel geleverd", body=LONG_BODY)
    deliver_raw(mail, sender, mailbox.address, signed(message, sender_domain, private))

    received = mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Meel geleverd")
    symbols = spamd_symbols(received)
    assert {"R_SPF_ALLOW", "R_DKIM_ALLOW", "DMARC_POLICY_ALLOW"} <= symbols.keys(), symbols
    assert symbols["R_SPF_ALLOW"] < 0 and symbols["DMARC_POLICY_ALLOW"] < 0
    assert not {"R_SPF_FAIL", "R_DKIM_REJECT", "DMARC_POLICY_REJECT"} & symbols.keys()
    assert "Meel geleverd" not in folder_subjects(mail, mailbox.address, "Junk")


def test_failing_spf_and_a_broken_dkim_signature_add_to_the_score(stack_domain, mail, fresh, dns_server):
    mailbox = create_mailbox(stack_domain, fresh("vals"), PASSWORD)
    sender_domain = f"{fresh('nep')}.example"
    private = publish_sender_domain(dns_server, sender_domain, spf="v=spf1 ip4:192.0.2.25 -all")
    mail.wait_live(mailbox)
    sender = f"factuur@{sender_domain}"
    message = mail.message(sender=sender, to=mailbox.address, subject="Factuur", body=LONG_BODY)
    tampered = signed(message, sender_domain, private).replace(b"Beste klant", b"Beste klant, betaal nu")
    deliver_raw(mail, sender, mailbox.address, tampered)

    received = mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Factuur")
    symbols = spamd_symbols(received)
    assert symbols.get("R_SPF_FAIL", 0) > 0, symbols
    assert symbols.get("R_DKIM_REJECT", 0) > 0, symbols
    assert not {"R_SPF_ALLOW", "R_DKIM_ALLOW"} & symbols.keys()


def test_a_domains_dmarc_reject_policy_refuses_failing_mail_during_smtp(
    stack_domain, mail, fresh, dns_server, spam_host
):
    mailbox = create_mailbox(stack_domain, fresh("bank"), PASSWORD)
    sender_domain = f"{fresh('bank')}.example"
    publish_sender_domain(
        dns_server, sender_domain, spf="v=spf1 ip4:192.0.2.25 -all", dmarc="v=DMARC1; p=reject"
    )
    mail.wait_live(mailbox)

    code, reply = refused(
        mail, mail.message(sender=f"beveiliging@{sender_domain}", to=mailbox.address, subject="Uw pas")
    )
    assert code == 554 and "5.7.1" in reply

    def refusal():
        ingest_host(spam_host)
        return SpamResult.objects.filter(mailbox=mailbox, verdict=Verdict.REFUSED).first()

    result = wait_until(refusal, what="the refusal in rspamd's log")
    assert "sender fails DMARC" in result.reasons


def test_a_domains_dmarc_quarantine_policy_files_failing_mail_into_junk(
    stack_domain, mail, fresh, dns_server
):
    mailbox = create_mailbox(stack_domain, fresh("post"), PASSWORD)
    sender_domain = f"{fresh('pakket')}.example"
    publish_sender_domain(
        dns_server, sender_domain, spf="v=spf1 ip4:192.0.2.25 -all", dmarc="v=DMARC1; p=quarantine"
    )
    mail.wait_live(mailbox)

    mail.deliver(mail.message(sender=f"track@{sender_domain}", to=mailbox.address, subject="Pakket"))
    wait_in_folder(mail, mailbox.address, "Junk", "Pakket")
    assert "Pakket" not in folder_subjects(mail, mailbox.address, "INBOX")


# --- rspamd's controller ---------------------------------------------------------------------------------------


def controller_get(url: str, password: str | None) -> int:
    headers = {"Password": password} if password is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_rspamds_controller_listens_on_loopback_only_and_refuses_without_its_password(
    mailstack, spam_host, settings
):
    stat = f"{spam_host.controller_url}/stat"
    assert controller_get(stat, None) == 401
    assert controller_get(stat, "q1") == 401  # Debian's default
    assert controller_get(stat, settings.RSPAMD_CONTROLLER_PASSWORD) == 200
    learn = urllib.request.Request(
        f"{spam_host.controller_url}/learnspam", data=b"Subject: x\r\n\r\nx", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(learn, timeout=5)
    assert error.value.code == 401
    with socket.socket() as other_address:  # bound to 127.0.0.1, not to every address of the host
        assert other_address.connect_ex(("127.0.0.2", mailstack.ports["rspamd_controller"])) != 0
    include = mailstack.path("rspamd", "local.d", "worker-controller-password.inc").read_text()
    assert settings.RSPAMD_CONTROLLER_PASSWORD not in include and 'password = "$2$' in include


def test_staff_see_rspamds_status_asked_with_the_password(spam_host, settings):
    assert check_status(spam_host)
    spam_host.refresh_from_db()
    assert spam_host.is_up and spam_host.status["version"].startswith("3.")
    settings.RSPAMD_CONTROLLER_PASSWORD = "not-the-password"
    assert not check_status(spam_host)
    spam_host.refresh_from_db()
    assert spam_host.is_up is False and "401" in spam_host.status_error


def arc_sealed(message, domain: str, private: bytes) -> bytes:
    """The message as a forwarder that checked it would pass it on: its Authentication-Results and an ARC set
    (seal, message signature, results) signed with the forwarder's key (selector "post")."""
    raw = f"Authentication-Results: mx.{domain}; spf=pass smtp.mailfrom={domain}\r\n".encode()
    raw += message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    headers = dkim.arc_sign(raw, b"post", domain.encode(), private, f"mx.{domain}".encode())
    return b"".join(headers) + raw


def test_an_arc_chain_is_checked_a_valid_one_credited_and_a_broken_one_scored(
    stack_domain, mail, fresh, dns_server
):
    mailbox = create_mailbox(stack_domain, fresh("lijst"), PASSWORD)
    forwarder = f"{fresh('lijst')}.example"
    private = publish_sender_domain(dns_server, forwarder, spf="v=spf1 ip4:127.0.0.1 -all")
    mail.wait_live(mailbox)

    sender = f"leden@{forwarder}"
    intact = mail.message(sender=sender, to=mailbox.address, subject="Nieuwsbrief intact", body=LONG_BODY)
    deliver_raw(mail, sender, mailbox.address, arc_sealed(intact, forwarder, private))
    broken = mail.message(sender=sender, to=mailbox.address, subject="Nieuwsbrief gewijzigd", body=LONG_BODY)
    tampered = arc_sealed(broken, forwarder, private).replace(b"Beste klant", b"Beste lezer")
    deliver_raw(mail, sender, mailbox.address, tampered)

    assert "ARC_ALLOW" in spamd_symbols(
        mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Nieuwsbrief intact")
    )
    symbols = spamd_symbols(mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Nieuwsbrief gewijzigd"))
    assert symbols.get("ARC_REJECT", 0) > 0, symbols


def test_probable_spam_gets_no_automatic_reply_and_ordinary_mail_does(stack_domain, mail, fresh):
    """The spam filter's Sieve script runs before the autoresponder's: one coherent set per mailbox."""
    mailbox = create_mailbox(stack_domain, fresh("weg"), PASSWORD)
    autoresponder = autoresponders.save_autoresponder(
        actor=SYSTEM,
        mailbox=mailbox,
        is_enabled=True,
        subject="Even weg",
        body="Tot maandag.",
        interval_days=1,
    )
    mail.wait_live(autoresponder)
    spammer, customer = f"{fresh('s')}@elders.example", f"{fresh('klant')}@elders.example"

    mail.deliver(mail.message(sender=spammer, to=mailbox.address, subject="Gratis horloge", **PROBABLE))
    mail.deliver(mail.message(sender=customer, to=mailbox.address, subject="Bestelling"))

    assert mail.wait_for_sink(to=customer)["Subject"] == "Even weg"
    wait_in_folder(mail, mailbox.address, "Junk", "Gratis horloge")
    assert mail.sink_messages(to=spammer) == []
    mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Bestelling")


def test_the_junk_folder_is_marked_for_mail_programs_and_moving_from_it_to_the_trash_teaches_nothing(
    stack_domain, mail, fresh, mailstack
):
    mailbox = create_mailbox(stack_domain, fresh("prul"), PASSWORD)
    mail.wait_live(mailbox)
    mail.deliver(mail.message(sender="s@elders.example", to=mailbox.address, subject="Prullaria", **PROBABLE))
    wait_in_folder(mail, mailbox.address, "Junk", "Prullaria")
    learn_log = mailstack.path("log", "spam-learn.log")
    logged = learn_log.read_text()
    before = learned()

    client = mail.imap(mailbox.address, PASSWORD)
    _status, listed = client.list('""', "Junk")
    assert b"\\Junk" in listed[0]  # special-use: mail programs show it as their spam folder
    client.select("Junk")
    client._simple_command("MOVE", "1:*", "Trash")
    client.logout()
    wait_in_folder(mail, mailbox.address, "Trash", "Prullaria")
    time.sleep(2)  # a learning script would have run by now
    assert learned() == before
    assert learn_log.read_text() == logged


def test_spam_sent_by_a_mailbox_on_587_is_refused_and_counted_against_its_login(
    stack_domain, mail, fresh, spam_host
):
    mailbox = create_mailbox(stack_domain, fresh("gekaapt"), PASSWORD)
    mail.wait_live(mailbox)
    message = mail.message(sender=mailbox.address, to="klant@elders.example", subject="Win", body=GTUBE)
    with pytest.raises(smtplib.SMTPDataError) as error:
        mail.submit(message, user=mailbox.address, password=PASSWORD)
    assert error.value.smtp_code == 554

    def outbound():
        ingest_host(spam_host)
        return SpamResult.objects.filter(direction="out", login=mailbox.address).first()

    result = wait_until(outbound, what="the refusal in rspamd's log")
    assert (result.verdict, result.mailbox, result.customer) == (
        Verdict.REFUSED,
        mailbox,
        stack_domain.customer,
    )


def test_a_senders_own_spam_marks_do_not_file_ordinary_mail_into_junk(stack_domain, mail, fresh):
    mailbox = create_mailbox(stack_domain, fresh("kop"), PASSWORD)
    mail.wait_live(mailbox)
    headers = {"X_Spam": "Yes", "X_Spamd_Bar": "++++++++++++"}
    mail.deliver(mail.message(sender="klant@elders.example", to=mailbox.address, subject="Gewoon", **headers))

    received = mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Gewoon")
    assert received["X-Spamd-Bar"] != "++++++++++++"  # rspamd's own bar replaced the sender's
    assert "Gewoon" not in folder_subjects(mail, mailbox.address, "Junk")
