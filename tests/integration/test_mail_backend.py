"""The panel's changes reach real Postfix, Dovecot and OpenDKIM through a real Celery worker (issue 4).

Every test changes data through the panel's services, waits until the change is live (as the panel
shows it), then talks SMTP, IMAPS and POP3S to the mail stack like a mail client or another server would.
"""

import smtplib
import subprocess
import time
from datetime import timedelta

import pytest
from django.core import mail as panel_mail
from django.urls import reverse
from django.utils import timezone

from mailaccounts.services import aliases, autoresponders, mailboxes
from mailhosts.models import MailHost
from tenants.audit import Actor
from tenants.emails import send_automatic_email
from tests.integration.conftest import create_mailbox, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Zomer-Appeltaart-2026"
SYSTEM = Actor.system()


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

    mailboxes.set_mailbox_password(actor=SYSTEM, mailbox=mailbox, password="Nieuw-Wachtwoord-77")
    mail.wait_live(mailbox)

    assert mail.imap_login_works(mailbox.address, "Nieuw-Wachtwoord-77")
    assert not mail.imap_login_works(mailbox.address, PASSWORD, source="127.0.0.2")


def test_a_disabled_mailbox_cannot_log_in_and_its_mail_is_rejected(stack_domain, mail, fresh):
    mailbox = create_mailbox(stack_domain, fresh("uit"), PASSWORD)
    mail.wait_live(mailbox)
    mailboxes.disable_mailbox(actor=SYSTEM, mailbox=mailbox)
    mail.wait_live(mailbox)

    assert not mail.imap_login_works(mailbox.address, PASSWORD, source="127.0.0.3")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        mail.deliver(mail.message(sender="klant@elders.example", to=mailbox.address, subject="Nog iemand?"))
    code, reply = refused.value.recipients[mailbox.address]
    assert code == 550
    assert b"5.2.1" in reply


def test_an_alias_fans_out_to_mailboxes_and_an_external_address(stack_domain, mail, fresh):
    jan = create_mailbox(stack_domain, fresh("jan"), PASSWORD)
    piet = create_mailbox(stack_domain, fresh("piet"), PASSWORD)
    outside = f"{fresh('boekhouder')}@elders.example"
    alias = aliases.create_alias(
        actor=SYSTEM,
        customer=stack_domain.customer,
        domain=stack_domain,
        local_part=fresh("team"),
        destinations=[jan.address, piet.address, outside],
    )
    mail.wait_live(alias)

    mail.deliver(mail.message(sender="klant@elders.example", to=alias.address, subject="Voor het team"))

    mail.wait_for_inbox(jan.address, PASSWORD, subject="Voor het team")
    mail.wait_for_inbox(piet.address, PASSWORD, subject="Voor het team")
    assert mail.wait_for_sink(to=outside, subject="Voor het team")


def test_forwarding_with_and_without_keeping_a_copy(stack_domain, mail, fresh):
    keeps = create_mailbox(stack_domain, fresh("houdt"), PASSWORD)
    passes = create_mailbox(stack_domain, fresh("stuurt"), PASSWORD)
    outside_keeps, outside_passes = f"{fresh('a')}@elders.example", f"{fresh('b')}@elders.example"
    mailboxes.set_forwarding(actor=SYSTEM, mailbox=keeps, forward_to=[outside_keeps], keep_copy=True)
    mailboxes.set_forwarding(actor=SYSTEM, mailbox=passes, forward_to=[outside_passes], keep_copy=False)
    mail.wait_live(keeps)
    mail.wait_live(passes)

    mail.deliver(mail.message(sender="klant@elders.example", to=keeps.address, subject="Met kopie"))
    mail.deliver(mail.message(sender="klant@elders.example", to=passes.address, subject="Zonder kopie"))

    assert mail.wait_for_sink(to=outside_keeps, subject="Met kopie")
    assert mail.wait_for_sink(to=outside_passes, subject="Zonder kopie")
    mail.wait_for_inbox(keeps.address, PASSWORD, subject="Met kopie")
    assert mail.imap_messages(passes.address, PASSWORD) == []


def test_catch_all_receives_mail_for_unknown_addresses_but_not_for_mailboxes(stack_domain, mail, fresh):
    info = create_mailbox(stack_domain, fresh("info"), PASSWORD)
    jan = create_mailbox(stack_domain, fresh("jan"), PASSWORD)
    unknown = f"{fresh('bestaat-niet')}@{stack_domain.name}"
    with pytest.raises(smtplib.SMTPRecipientsRefused):  # no catch-all yet: unknown addresses bounce
        mail.deliver(mail.message(sender="klant@elders.example", to=unknown, subject="Hallo?"))

    stack_domain.refresh_from_db()
    aliases.set_domain_routing(
        actor=SYSTEM, domain=stack_domain, catch_all_to=info, postmaster_to=info, abuse_to=info
    )
    mail.wait_live(stack_domain)
    mail.deliver(mail.message(sender="klant@elders.example", to=unknown, subject="Opgevangen"))
    mail.deliver(mail.message(sender="klant@elders.example", to=jan.address, subject="Voor Jan"))

    mail.wait_for_inbox(info.address, PASSWORD, subject="Opgevangen")
    mail.wait_for_inbox(jan.address, PASSWORD, subject="Voor Jan")
    assert [m["Subject"] for m in mail.imap_messages(info.address, PASSWORD)] == ["Opgevangen"]


def apply_now(host_id: int, timeout: float = 15) -> None:
    """Apply the host in this process right away, first waiting out an apply the Celery worker may have
    under way for the same change (it holds the host's lock; the product retries, this test must not)."""
    from mailhosts.apply import HostBusy, apply_host

    deadline = time.monotonic() + timeout
    while True:
        try:
            apply_host(host_id)
            return
        except HostBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_a_routing_change_holds_even_when_the_map_changed_twice_in_one_second(stack_domain, mail, fresh):
    """Postfix daemons notice a rebuilt hash map by its modification time, in whole seconds: a map rebuilt
    twice within one second, with a message read in between, leaves them on the old table. The apply's
    `postfix reload` step makes the change hold anyway."""
    info = create_mailbox(stack_domain, fresh("info"), PASSWORD)
    mail.wait_live(info)
    for _attempt in range(5):
        unknown = f"{fresh('onbekend')}@{stack_domain.name}"
        while time.time() % 1 > 0.05:  # start at the beginning of a second
            time.sleep(0.005)
        second = int(time.time())
        stack_domain.refresh_from_db()
        aliases.set_domain_routing(
            actor=SYSTEM, domain=stack_domain, catch_all_to=info, postmaster_to=info, abuse_to=info
        )
        apply_now(stack_domain.mailhost_id)
        mail.deliver(
            mail.message(
                sender="klant@elders.example", to=f"{fresh('x')}@{stack_domain.name}", subject="Opgevangen"
            )
        )
        stack_domain.refresh_from_db()
        aliases.set_domain_routing(
            actor=SYSTEM, domain=stack_domain, catch_all_to=None, postmaster_to=info, abuse_to=info
        )
        apply_now(stack_domain.mailhost_id)
        if int(time.time()) == second:
            break
    else:
        pytest.fail("could not make both changes within one second")

    with pytest.raises(smtplib.SMTPRecipientsRefused):  # the catch-all is gone: unknown addresses bounce
        mail.deliver(mail.message(sender="klant@elders.example", to=unknown, subject="Niet meer opgevangen"))


def test_autoresponder_replies_once_per_sender_with_its_non_ascii_subject_and_body(stack_domain, mail, fresh):
    mailbox = create_mailbox(stack_domain, fresh("vakantie"), PASSWORD)
    autoresponder = autoresponders.save_autoresponder(
        actor=SYSTEM,
        mailbox=mailbox,
        is_enabled=True,
        subject="Afwezig tot maandag ☀️ — één week",
        body="Beste afzender,\n\nIk ben op vakantie in Zürich; daarna lees ik uw bericht. Groeten, Zoë",
        interval_days=1,
    )
    mail.wait_live(autoresponder)
    first, second = f"{fresh('klant')}@elders.example", f"{fresh('klant')}@elders.example"

    for subject in ["Vraag 1", "Vraag 2"]:
        mail.deliver(mail.message(sender=first, to=mailbox.address, subject=subject))
    mail.deliver(mail.message(sender=second, to=mailbox.address, subject="Vraag 3"))

    reply = mail.wait_for_sink(to=second)
    assert reply["Subject"] == "Afwezig tot maandag ☀️ — één week"
    assert "Ik ben op vakantie in Zürich" in reply.get_body(("plain",)).get_content()
    assert "Groeten, Zoë" in reply.get_body(("plain",)).get_content()
    assert reply["Auto-Submitted"].startswith("auto-replied")
    mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Vraag 2")  # both were delivered and filtered
    assert len(mail.sink_messages(to=first)) == 1


def test_an_automatic_reply_leaves_the_panels_own_mail_alone(stack_domain, mail, fresh, settings):
    """The panel's e-mails say `Auto-Submitted: auto-generated` (tenants/emails.py): a mailbox's automatic reply
    does not answer an invoice or a notice from the panel, and still answers a person who writes after it."""
    mailbox = create_mailbox(stack_domain, fresh("weg"), PASSWORD)
    autoresponder = autoresponders.save_autoresponder(
        actor=SYSTEM,
        mailbox=mailbox,
        is_enabled=True,
        subject="Afwezig",
        body="Tot maandag.",
        interval_days=1,
    )
    mail.wait_live(autoresponder)
    settings.DEFAULT_FROM_EMAIL = panel_sender = f"{fresh('facturen')}@elders.example"
    send_automatic_email(
        subject="Je factuur", text="Hierbij je factuur.", html="<p>Hierbij.</p>", to=[mailbox.address]
    )
    mail.deliver(panel_mail.outbox[-1].message(), recipients=[mailbox.address])
    mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Je factuur")

    person = f"{fresh('klant')}@elders.example"
    mail.deliver(mail.message(sender=person, to=mailbox.address, subject="Vraag"))
    assert mail.wait_for_sink(to=person)["Subject"] == "Afwezig"  # sent after any reply to the panel's mail
    assert mail.sink_messages(to=panel_sender) == []


def test_autoresponder_does_not_reply_outside_its_dates(stack_domain, mail, fresh):
    mailbox = create_mailbox(stack_domain, fresh("later"), PASSWORD)
    autoresponder = autoresponders.save_autoresponder(
        actor=SYSTEM,
        mailbox=mailbox,
        is_enabled=True,
        subject="Pas volgende week weg",
        body="-",
        starts_at=timezone.now() + timedelta(days=7),
        ends_at=timezone.now() + timedelta(days=14),
        interval_days=1,
    )
    mail.wait_live(autoresponder)
    sender = f"{fresh('klant')}@elders.example"

    mail.deliver(mail.message(sender=sender, to=mailbox.address, subject="Nu al weg?"))
    mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Nu al weg?")
    time.sleep(1)  # a reply would have left through the same queue by now
    assert mail.sink_messages(to=sender) == []


def test_over_quota_mail_is_refused_at_rcpt_without_a_bounce_and_usage_matches_dovecot(
    stack_domain, mail, fresh, owner_client, mailstack
):
    mailbox = create_mailbox(stack_domain, fresh("vol"), PASSWORD, quota_bytes=10 * 1024**2)
    mail.wait_live(mailbox)
    sender = f"{fresh('klant')}@elders.example"
    big = "x" * 76 + "\n"
    mail.deliver(mail.message(sender=sender, to=mailbox.address, subject="Groot 1", body=big * 80_000))
    mail.wait_for_inbox(mailbox.address, PASSWORD, subject="Groot 1")

    second = mail.message(sender=sender, to=mailbox.address, subject="Groot 2", body=big * 80_000)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        mail.deliver(second)  # smtplib announces SIZE=..., as every mail server does

    code, reply = refused.value.recipients[mailbox.address]
    assert (code, reply.split()[0]) == (552, b"5.2.2")
    rejected = f"NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 552 5.2.2 <{mailbox.address}>"

    def logged():  # Postfix logs through postlogd: the line may land a moment after the reply
        return rejected in mailstack.path("log", "postfix.log").read_text()

    wait_until(logged, what="Postfix to log the refusal")
    assert rejected in mailstack.path("log", "postfix.log").read_text()
    time.sleep(1)  # a bounce would have reached the sink through the same queue by now
    assert mail.sink_messages(to=sender) == []
    assert [m["Subject"] for m in mail.imap_messages(mailbox.address, PASSWORD)] == ["Groot 1"]
    host = stack_domain.mailhost
    reported = dovecot_storage_bytes(host, mailbox.address)
    assert reported > 6_000_000  # the first message, in Dovecot's count
    from mailaccounts.tasks import measure_usage

    measure_usage.apply()  # the periodic task: it asks the host's worker for Dovecot's figures

    def measured():
        mailbox.refresh_from_db()
        return mailbox.usage_measured_at is not None

    wait_until(measured, what="the usage to be measured")
    assert mailbox.used_bytes == reported
    from postbode.templatetags.postbode import bytes_human

    page = owner_client.get(reverse("mailaccounts:mailbox_detail", args=[mailbox.pk]))
    assert page.status_code == 200
    assert str(bytes_human(reported)) in page.content.decode()


def dovecot_storage_bytes(host: MailHost, address: str) -> int:
    output = subprocess.run(
        [*host.doveadm_command, "-f", "tab", "quota", "get", "-u", address],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    header = output[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=False)) for line in output[1:]]
    return next(int(row["Value"]) * 1024 for row in rows if row["Type"] == "STORAGE")


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


def test_smtp_auth_is_offered_only_over_tls_on_submission(stack_domain, mail):
    with smtplib.SMTP("127.0.0.1", mail.ports["submission"], timeout=10) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("auth")
        smtp.starttls(context=mail.tls)
        smtp.ehlo()
        assert smtp.has_extn("auth")
    with smtplib.SMTP("127.0.0.1", mail.ports["smtp"], timeout=10) as smtp:
        smtp.starttls(context=mail.tls)
        smtp.ehlo()
        assert not smtp.has_extn("auth")


def test_a_user_sends_as_itself_and_its_alias_but_not_as_someone_else(stack_domain, mail, fresh):
    jan = create_mailbox(stack_domain, fresh("jan"), PASSWORD)
    piet = create_mailbox(stack_domain, fresh("piet"), PASSWORD)
    alias = aliases.create_alias(
        actor=SYSTEM,
        customer=stack_domain.customer,
        domain=stack_domain,
        local_part=fresh("verkoop"),
        destinations=[jan.address],
    )
    mail.wait_live(alias)
    outside = f"{fresh('klant')}@elders.example"

    mail.submit(
        mail.message(sender=jan.address, to=outside, subject="Van Jan"), user=jan.address, password=PASSWORD
    )
    mail.submit(
        mail.message(sender=alias.address, to=outside, subject="Van verkoop"),
        user=jan.address,
        password=PASSWORD,
        implicit_tls=True,
    )
    assert mail.wait_for_sink(to=outside, subject="Van Jan")
    assert mail.wait_for_sink(to=outside, subject="Van verkoop")

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        mail.submit(
            mail.message(sender=piet.address, to=outside, subject="Nep"), user=jan.address, password=PASSWORD
        )
    code, reply = refused.value.recipients[outside]
    assert code == 553
    assert b"not owned by user" in reply


def test_a_relay_credential_sends_as_its_domains_but_cannot_read_mail(stack_domain, mail, fresh):
    from relay.services import create_credential

    credential, secret = create_credential(
        customer=stack_domain.customer, name="Webshop", domains=[stack_domain], actor=SYSTEM
    )
    mail.wait_live(credential)
    outside = f"{fresh('klant')}@elders.example"

    mail.submit(
        mail.message(sender=f"noreply@{stack_domain.name}", to=outside, subject="Uw bestelling"),
        user=credential.username,
        password=secret,
    )
    assert mail.wait_for_sink(to=outside, subject="Uw bestelling")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        mail.submit(
            mail.message(sender="ceo@elders.example", to=outside, subject="Nep"),
            user=credential.username,
            password=secret,
        )
    assert not mail.imap_login_works(credential.username, secret, source="127.0.0.4")


def test_mail_sent_through_submission_is_dkim_signed_with_the_active_keys(stack_domain, mail, fresh):
    import dkim

    from mailaccounts.models import DkimKey
    from mailaccounts.services.dkim import activate_published_keys, dkim_txt_value, generate_dkim_key

    jan = create_mailbox(stack_domain, fresh("jan"), PASSWORD)
    rsa = generate_dkim_key(domain=stack_domain, actor=SYSTEM)
    ed25519 = generate_dkim_key(domain=stack_domain, actor=SYSTEM, algorithm=DkimKey.Algorithm.ED25519)
    activate_published_keys(
        domain=stack_domain, live_selectors={rsa.selector, ed25519.selector}, actor=SYSTEM
    )
    rsa.refresh_from_db()
    mail.wait_live(rsa)
    records = {
        f"{key.selector}._domainkey.{stack_domain.name}.": dkim_txt_value(key) for key in [rsa, ed25519]
    }
    outside = f"{fresh('klant')}@elders.example"

    mail.submit(
        mail.message(sender=jan.address, to=outside, subject="Getekend"), user=jan.address, password=PASSWORD
    )

    received = mail.wait_for_sink(to=outside, subject="Getekend")
    raw = b"".join(
        line for line in received.as_bytes().splitlines(keepends=True) if not line.startswith(b"X-Sink-")
    )
    signatures = received.get_all("DKIM-Signature")
    selectors = {
        dict(part.strip().split("=", 1) for part in sig.split(";") if "=" in part)["s"] for sig in signatures
    }
    assert selectors == {rsa.selector, ed25519.selector}

    def dns(name, timeout=5):
        return records[name.decode() if isinstance(name, bytes) else name].encode()

    for index in range(len(signatures)):
        assert dkim.DKIM(raw).verify(idx=index, dnsfunc=dns)


def test_a_failing_reload_step_leaves_the_change_failed_and_visible_until_it_is_fixed(
    stack_domain, mail, fresh, staff_client, owner_client
):
    from mailhosts.tasks import reconcile_mailhosts

    mailbox = create_mailbox(stack_domain, fresh("storing"), PASSWORD)
    mail.wait_live(mailbox)
    host = stack_domain.mailhost
    working_steps = host.reload_commands
    MailHost.objects.filter(pk=host.pk).update(
        reload_commands=[["sh", "-c", "echo opendkim is not running >&2; exit 1"]]
    )

    outside = f"{fresh('kopie')}@elders.example"  # a routing change: Postfix's maps, so the reload steps
    mailboxes.set_forwarding(actor=SYSTEM, mailbox=mailbox, forward_to=[outside], keep_copy=True)

    def failed():
        mailbox.refresh_from_db()
        return mailbox.live_state == "failed"

    wait_until(failed, what="the change to show as failed")
    host.refresh_from_db()
    assert "opendkim is not running" in host.last_error
    admin_page = staff_client.get("/admin/mailhosts/mailhost/").content.decode()
    assert "opendkim is not running" in admin_page
    customer_page = owner_client.get(
        reverse("mailaccounts:mailbox_detail", args=[mailbox.pk])
    ).content.decode()
    assert "Failed" in customer_page

    MailHost.objects.filter(pk=host.pk).update(reload_commands=working_steps)
    reconcile_mailhosts.apply()
    mail.wait_live(mailbox, timeout=20)
    host.refresh_from_db()
    assert host.last_error == ""
    mail.deliver(mail.message(sender="klant@elders.example", to=mailbox.address, subject="Doorsturen"))
    assert mail.wait_for_sink(to=outside, subject="Doorsturen")
    customer_page = owner_client.get(
        reverse("mailaccounts:mailbox_detail", args=[mailbox.pk])
    ).content.decode()
    assert 'data-live-state="live"' in customer_page and "Failed" not in customer_page


def test_a_worker_killed_during_an_apply_loses_nothing(stack_domain, mail, fresh, celery_worker, mailstack):
    from mailhosts.tasks import reconcile_mailhosts

    mailbox = create_mailbox(stack_domain, fresh("crash"), PASSWORD)
    mail.wait_live(mailbox)
    host = stack_domain.mailhost
    working_steps = host.reload_commands
    reloading = mailstack.path("reloading")
    reloading.unlink(missing_ok=True)
    MailHost.objects.filter(pk=host.pk).update(reload_commands=[["sh", "-c", f"touch {reloading}; sleep 60"]])

    outside = f"{fresh('kopie')}@elders.example"  # a routing change: Postfix's maps, so the reload steps
    mailboxes.set_forwarding(actor=SYSTEM, mailbox=mailbox, forward_to=[outside], keep_copy=True)
    wait_until(reloading.exists, what="the apply to reach its reload step")
    celery_worker.kill()
    try:
        mailbox.refresh_from_db()
        assert mailbox.live_state == "pending"
        MailHost.objects.filter(pk=host.pk).update(reload_commands=working_steps)
    finally:
        celery_worker.start()

    reconcile_mailhosts.apply()
    mail.wait_live(mailbox, timeout=20)
    mail.deliver(mail.message(sender="klant@elders.example", to=mailbox.address, subject="Na de crash"))
    assert mail.wait_for_sink(to=outside, subject="Na de crash")
