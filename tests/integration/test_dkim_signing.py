"""DKIM end to end: mail submitted from a hosted domain leaves the real mail stack signed, and dkimpy verifies
the signature against the record the local test DNS server publishes; a rotation switches signing to the new
selector only once its record is live, and mail still verifies (issue 5).
"""

import re

import dkim
import pytest
from django.urls import reverse

from mailaccounts.models import DkimKey
from mailaccounts.services import dkim as dkim_service
from mailaccounts.services.dns import make_resolver
from mailaccounts.services.dnschecks import check_domain
from tenants.audit import Actor
from tests.integration.conftest import create_mailbox, wait_until
from tests.mailaccounts.conftest import correct_zone

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Zomer-Appeltaart-2026"
SYSTEM = Actor.system()


def dns_txt(name: bytes, timeout: int = 5) -> bytes:
    """dkimpy's DNS hook, answered by the test DNS server through the panel's own resolver settings."""
    answer = make_resolver().resolve(name.decode().rstrip("."), "TXT")
    return b"".join(answer[0].strings)


def send_and_fetch(mail, mailbox, fresh, subject: str) -> bytes:
    """Submit a message as the mailbox to an outside address; return it as the sink received it."""
    outside = f"{fresh('klant')}@elders.example"
    message = mail.message(
        sender=mailbox.address, to=outside, subject=subject, body="Uw bestelling is klaar."
    )
    mail.submit(message, user=mailbox.address, password=PASSWORD)

    def arrived():
        for path in mail.stack.sink_messages():
            raw = path.read_bytes()
            if f"<{outside}>".encode() in raw.split(b"\r\n\r\n", 1)[0]:
                return raw
        return None

    raw = wait_until(arrived, timeout=20, interval=0.1, what=f"{subject!r} in the sink")
    return strip_sink_envelope(raw)


def strip_sink_envelope(raw: bytes) -> bytes:
    """The sink writes the envelope as X-Sink-* lines on top; the message proper follows."""
    lines = raw.split(b"\r\n")
    while lines and lines[0].startswith(b"X-Sink-"):
        lines.pop(0)
    return b"\r\n".join(lines)


def selector_of(raw: bytes) -> str:
    header = raw.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
    signature = re.search(
        r"^DKIM-Signature:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", header, re.MULTILINE | re.IGNORECASE
    )
    assert signature, "the message is not DKIM-signed"
    return re.search(r"\bs=([^;\s]+)", signature.group(1)).group(1)


def publish_and_check(dns_server, domain) -> None:
    """Publish exactly what the panel says, then run the panel's check (which activates waiting keys)."""
    dns_server.set_zone(correct_zone(domain))
    check_domain(domain)


def test_submitted_mail_is_signed_and_verifies_then_rotation_switches_selector(
    stack_domain, mail, fresh, dns_server, settings
):
    settings.MTA_STS_POLICY_HOST = "panel.postbode.test"
    mailbox = create_mailbox(stack_domain, fresh("jan"), PASSWORD)
    first = dkim_service.generate_dkim_key(domain=stack_domain, actor=SYSTEM, selector="pb202611")
    publish_and_check(dns_server, stack_domain)
    first.refresh_from_db()
    assert first.state == DkimKey.State.ACTIVE
    mail.wait_live(first)
    mail.wait_live(mailbox)

    signed = send_and_fetch(mail, mailbox, fresh, "Getekend")
    assert selector_of(signed) == "pb202611"
    assert dkim.verify(signed, dnsfunc=dns_txt)

    # Rotation: the new key waits for its record; meanwhile the old key keeps signing.
    second = dkim_service.rotate_dkim_key(domain=stack_domain, actor=SYSTEM, selector="pb202612")
    mail.wait_live(second)
    before = send_and_fetch(mail, mailbox, fresh, "Nog met de oude sleutel")
    assert selector_of(before) == "pb202611"

    publish_and_check(dns_server, stack_domain)
    second.refresh_from_db()
    first.refresh_from_db()
    assert (second.state, first.state) == (DkimKey.State.ACTIVE, DkimKey.State.RETIRING)
    mail.wait_live(second)

    after = send_and_fetch(mail, mailbox, fresh, "Met de nieuwe sleutel")
    assert selector_of(after) == "pb202612"
    assert dkim.verify(after, dnsfunc=dns_txt)
    # Mail signed before the switch still verifies: the retiring key's record stays published.
    assert dkim.verify(before, dnsfunc=dns_txt)


def test_a_tampered_message_does_not_verify(stack_domain, mail, fresh, dns_server, settings):
    """The check above can fail: a changed body breaks the signature."""
    settings.MTA_STS_POLICY_HOST = "panel.postbode.test"
    mailbox = create_mailbox(stack_domain, fresh("piet"), PASSWORD)
    key = dkim_service.generate_dkim_key(domain=stack_domain, actor=SYSTEM, selector="pb202610")
    publish_and_check(dns_server, stack_domain)
    key.refresh_from_db()
    mail.wait_live(key)
    mail.wait_live(mailbox)

    signed = send_and_fetch(mail, mailbox, fresh, "Niet knoeien")
    assert dkim.verify(signed, dnsfunc=dns_txt)
    assert not dkim.verify(
        signed.replace(b"Uw bestelling is klaar.", b"Uw bestelling is weg."), dnsfunc=dns_txt
    )


def test_an_ed25519_key_signs_beside_the_rsa_key_and_both_signatures_verify(
    stack_domain, mail, fresh, dns_server, settings
):
    """OpenDKIM signs with one algorithm per instance: the RSA signer adds its signature, the Ed25519 signer
    (a second OpenDKIM) adds another. Receivers that do not know Ed25519 verify the RSA one."""
    settings.MTA_STS_POLICY_HOST = "panel.postbode.test"
    mailbox = create_mailbox(stack_domain, fresh("ed"), PASSWORD)
    rsa = dkim_service.generate_dkim_key(domain=stack_domain, actor=SYSTEM, selector="pb202609")
    publish_and_check(dns_server, stack_domain)
    ed = dkim_service.generate_dkim_key(
        domain=stack_domain, actor=SYSTEM, algorithm="ed25519", selector="pb202609ed"
    )
    publish_and_check(dns_server, stack_domain)
    rsa.refresh_from_db()
    ed.refresh_from_db()
    assert (rsa.state, ed.state) == (DkimKey.State.ACTIVE, DkimKey.State.ACTIVE)
    mail.wait_live(ed)
    mail.wait_live(mailbox)

    signed = send_and_fetch(mail, mailbox, fresh, "Met een Ed25519-sleutel ernaast")

    header = signed.split(b"\r\n\r\n", 1)[0]
    assert b"a=rsa-sha256" in header
    assert b"a=ed25519-sha256" in header
    verifier = dkim.DKIM(signed)
    verified = [verifier.verify(idx=idx, dnsfunc=dns_txt) for idx in range(2)]
    assert verified == [True, True]


def key_cell(client, domain, selector: str) -> str:
    html = client.get(reverse("mailaccounts:dns_records", args=[domain.pk])).content.decode()
    return html.split(f'id="key-{selector}"', 1)[1].split("</tr>", 1)[0]


def test_a_key_shows_signing_only_once_the_mail_host_applied_it_and_failed_while_it_could_not(
    stack_domain, mail, fresh, dns_server, settings, owner_client
):
    """The DNS check switches the key to signing in the database; the page says "signing" only when the
    mail host applied that revision (and OpenDKIM really signs with it), "failed" while the apply fails."""
    from mailhosts.models import MailHost
    from mailhosts.tasks import reconcile_mailhosts

    settings.MTA_STS_POLICY_HOST = "panel.postbode.test"
    mailbox = create_mailbox(stack_domain, fresh("kees"), PASSWORD)
    first = dkim_service.generate_dkim_key(domain=stack_domain, actor=SYSTEM, selector="pb202609")
    publish_and_check(dns_server, stack_domain)
    first.refresh_from_db()
    mail.wait_live(first)
    mail.wait_live(mailbox)
    assert ">Signing<" in key_cell(owner_client, stack_domain, "pb202609")

    second = dkim_service.rotate_dkim_key(domain=stack_domain, actor=SYSTEM, selector="pb202610")
    mail.wait_live(second)
    host = stack_domain.mailhost
    working_steps = host.reload_commands
    MailHost.objects.filter(pk=host.pk).update(
        reload_commands=[["sh", "-c", "echo opendkim is not running >&2; exit 1"]]
    )
    publish_and_check(dns_server, stack_domain)
    second.refresh_from_db()
    assert second.state == DkimKey.State.ACTIVE  # in the database

    def failed():
        second.refresh_from_db()
        return second.live_state == "failed"

    wait_until(failed, what="the key's switch to show as failed")
    cell = key_cell(owner_client, stack_domain, "pb202610")
    assert 'data-live-state="failed"' in cell and ">Signing<" not in cell

    MailHost.objects.filter(pk=host.pk).update(reload_commands=working_steps)
    reconcile_mailhosts.apply()
    mail.wait_live(second, timeout=20)
    cell = key_cell(owner_client, stack_domain, "pb202610")
    assert ">Signing<" in cell and 'data-live-state="live"' in cell
    assert selector_of(send_and_fetch(mail, mailbox, fresh, "Nu de nieuwe")) == "pb202610"
