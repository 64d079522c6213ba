"""Device set-up and calendars against the real stack (issue 19): the autoconfig, Autodiscover and profile
answers log in to the real Dovecot and Postfix; Radicale (deploy/radicale) checks logins with Dovecot's auth
and applies the rights the panel renders.
"""

import base64
import http.client
import imaplib
import plistlib
import poplib
import smtplib
import ssl
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime

import caldav
import pytest
from django.utils import timezone

from devices import services as device_services
from devices.stack import RADICALE_SERVICE
from mailaccounts.models import Domain
from mailaccounts.services import mailboxes as services
from tenants.audit import Actor
from tests.integration.conftest import create_mailbox, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("mailstack"),  # one worker, one stack (also when this file runs alone)
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "Zomer-Appeltaart-2026"
SYSTEM = Actor.system()
AUTODISCOVER = """<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request><EMailAddress>{address}</EMailAddress>
  <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request></Autodiscover>"""
NS = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"


@pytest.fixture
def dav_host(stack_host, mailstack):
    """The stack host, with the stack's loopback ports as what clients are told (as `mailstack start` does)."""
    RADICALE_SERVICE.attach(mailstack, stack_host)
    return stack_host


@pytest.fixture
def tls(mailstack):
    return ssl.create_default_context(cafile=str(mailstack.ca_file))


# --- logging in with what the answers advertise ---------------------------------------------------------------


def log_in(protocol: str, host: str, port: int, security: str, user: str, password: str, context) -> None:
    """Log in as a mail program would with these settings; raises when that fails."""
    if protocol == "imap":
        connection = (
            imaplib.IMAP4_SSL(host, port, ssl_context=context)
            if security == "ssl"
            else imaplib.IMAP4(host, port)
        )
        if security == "starttls":
            connection.starttls(ssl_context=context)
        connection.login(user, password)
        connection.logout()
    elif protocol == "pop3":
        connection = (
            poplib.POP3_SSL(host, port, context=context) if security == "ssl" else poplib.POP3(host, port)
        )
        if security == "starttls":
            connection.stls(context=context)
        connection.user(user)
        connection.pass_(password)
        connection.quit()
    else:
        connection = (
            smtplib.SMTP_SSL(host, port, context=context, timeout=10)
            if security == "ssl"
            else smtplib.SMTP(host, port, timeout=10)
        )
        if security == "starttls":
            connection.starttls(context=context)
        connection.login(user, password)
        connection.quit()


def test_autoconfig_answer_logs_in_over_imap_pop3_and_smtp(dav_host, stack_domain, mail, fresh, client, tls):
    mailbox = create_mailbox(stack_domain, fresh("auto"), PASSWORD)
    mail.wait_live(mailbox)
    response = client.get("/mail/config-v1.1.xml", {"emailaddress": mailbox.address})
    assert response.status_code == 200
    servers = [
        s for s in ET.fromstring(response.content).iter() if s.tag in {"incomingServer", "outgoingServer"}
    ]
    assert len(servers) == 6
    for server in servers:
        security = {"SSL": "ssl", "STARTTLS": "starttls"}[server.findtext("socketType")]
        user = server.findtext("username").replace("%EMAILADDRESS%", mailbox.address)
        port = int(server.findtext("port"))
        log_in(server.get("type"), server.findtext("hostname"), port, security, user, PASSWORD, tls)


def test_autodiscover_answer_logs_in_over_imap_and_smtp(dav_host, stack_domain, mail, fresh, client, tls):
    mailbox = create_mailbox(stack_domain, fresh("outlook"), PASSWORD)
    mail.wait_live(mailbox)
    response = client.post(
        "/autodiscover/autodiscover.xml",
        AUTODISCOVER.format(address=mailbox.address),
        content_type="text/xml",
    )
    assert response.status_code == 200
    for protocol in ET.fromstring(response.content).iter(f"{NS}Protocol"):
        kind = protocol.findtext(f"{NS}Type").lower()
        assert protocol.findtext(f"{NS}SSL") == "on"
        log_in(
            kind,
            protocol.findtext(f"{NS}Server"),
            int(protocol.findtext(f"{NS}Port")),
            "ssl",
            protocol.findtext(f"{NS}LoginName"),
            PASSWORD,
            tls,
        )


def test_signed_profile_verifies_against_the_ca_and_logs_in(
    dav_host, stack_domain, mail, mailstack, fresh, client, owner, tls, settings, tmp_path
):
    settings.DEVICE_PROFILE_SIGNING_CERT = str(mailstack.path("tls", "server.pem"))
    settings.DEVICE_PROFILE_SIGNING_KEY = str(mailstack.path("tls", "server.key"))
    mailbox = create_mailbox(stack_domain, fresh("iphone"), PASSWORD)
    mail.wait_live(mailbox)
    _link, token = device_services.create_profile_link(actor=SYSTEM, mailbox=mailbox)
    response = client.get(f"/devices/profile/{mailbox.pk}/{token}/")
    assert response.status_code == 200
    signed = tmp_path / "profile.mobileconfig"
    signed.write_bytes(response.content)
    verified = subprocess.run(
        [
            "openssl",
            "smime",
            "-verify",
            "-inform",
            "DER",
            "-in",
            str(signed),
            "-CAfile",
            str(mailstack.ca_file),
            "-purpose",
            "any",
        ],
        capture_output=True,
    )
    assert verified.returncode == 0, verified.stderr
    assert b"Verification successful" in verified.stderr
    profile = plistlib.loads(verified.stdout)
    mail_payload, caldav_payload, carddav_payload = profile["PayloadContent"]
    log_in(
        "imap",
        mail_payload["IncomingMailServerHostName"],
        mail_payload["IncomingMailServerPortNumber"],
        "ssl",
        mail_payload["IncomingMailServerUsername"],
        PASSWORD,
        tls,
    )
    log_in(
        "smtp",
        mail_payload["OutgoingMailServerHostName"],
        mail_payload["OutgoingMailServerPortNumber"],
        "ssl",
        mail_payload["OutgoingMailServerUsername"],
        PASSWORD,
        tls,
    )
    dav = caldav.DAVClient(
        url=f"https://{caldav_payload['CalDAVHostName']}:{caldav_payload['CalDAVPort']}{caldav_payload['CalDAVPrincipalURL']}",
        username=caldav_payload["CalDAVUsername"],
        password=PASSWORD,
        ssl_verify_cert=str(mailstack.ca_file),
    )
    assert dav.principal().calendars()
    assert carddav_payload["CardDAVUsername"] == mailbox.address
    # a tampered profile fails verification
    tampered = bytearray(response.content)
    position = bytes(tampered).find(mailbox.address.encode())
    tampered[position] ^= 1
    signed.write_bytes(bytes(tampered))
    again = subprocess.run(
        [
            "openssl",
            "smime",
            "-verify",
            "-inform",
            "DER",
            "-in",
            str(signed),
            "-CAfile",
            str(mailstack.ca_file),
            "-purpose",
            "any",
        ],
        capture_output=True,
    )
    assert again.returncode != 0
    assert client.get(f"/devices/profile/{mailbox.pk}/{token}/").status_code == 404  # used up


# --- calendars and contacts on Radicale ---------------------------------------------------------------------


def dav_client(mailstack, address: str, password: str, path: str = "/") -> caldav.DAVClient:
    return caldav.DAVClient(
        url=f"https://127.0.0.1:{mailstack.ports['dav']}{path}",
        username=address,
        password=password,
        ssl_verify_cert=str(mailstack.ca_file),
    )


def dav_request(
    mailstack,
    method: str,
    path: str,
    auth: tuple[str, str] | None,
    *,
    body: str | None = None,
    source: str = "127.0.0.1",
    content_type: str = "text/plain",
) -> http.client.HTTPResponse:
    """One plain HTTPS request to Radicale; wrong passwords go from another loopback address, as Dovecot slows
    down every login of an address that failed before (MAILSTACK-NOTES.md)."""
    context = ssl.create_default_context(cafile=str(mailstack.ca_file))
    connection = http.client.HTTPSConnection(
        "127.0.0.1", mailstack.ports["dav"], context=context, source_address=(source, 0), timeout=15
    )
    headers = {"Content-Type": content_type}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def vcard(uid: str, name: str) -> str:
    return f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\nEND:VCARD\r\n"


@pytest.fixture
def other_stack_domain(other_customer, dav_host):
    return Domain.objects.create(
        customer=other_customer,
        name="concurrent.example",
        mailhost=dav_host,
        verification_token="token-concurrent",
        verified_at=timezone.now(),
    )


def test_own_calendar_and_contacts_are_private_and_the_shared_ones_need_the_owner(
    dav_host, stack_domain, other_stack_domain, mail, mailstack, fresh
):
    alice = create_mailbox(stack_domain, fresh("alice"), PASSWORD)
    carol = create_mailbox(stack_domain, fresh("carol"), PASSWORD)
    bob = create_mailbox(other_stack_domain, fresh("bob"), PASSWORD)
    for mailbox in [alice, carol, bob]:
        mail.wait_live(mailbox)

    # A's default calendar and address book exist on first use; A creates an event and a contact
    principal = dav_client(mailstack, alice.address, PASSWORD).principal()
    calendars = principal.calendars()
    assert [c.url.path.rstrip("/").rsplit("/", 1)[-1] for c in calendars] == ["calendar"]
    event = calendars[0].save_event(
        dtstart=datetime(2026, 12, 24, 10),
        dtend=datetime(2026, 12, 24, 11),
        summary="Kerstborrel",
        uid="kerst-1",
    )
    contact_path = f"/{alice.address}/contacts/jan.vcf"
    assert dav_request(
        mailstack,
        "PUT",
        contact_path,
        (alice.address, PASSWORD),
        body=vcard("jan", "Jan Jansen"),
        content_type="text/vcard",
    ).status in {201, 204}
    event_path = event.url.path

    # B of another customer and C of the same domain cannot read them
    for other in [bob, carol]:
        for path in [f"/{alice.address}/", event_path, contact_path]:
            assert dav_request(mailstack, "GET", path, (other.address, PASSWORD)).status in {403, 404}
    # A reads them
    assert dav_request(mailstack, "GET", contact_path, (alice.address, PASSWORD)).status == 200

    # the shared calendar: nobody until the owner switches it on
    shared_event = f"/shared-{stack_domain.name}/calendar/borrel.ics"
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:borrel\r\n"
        "DTSTAMP:20261201T000000Z\r\nDTSTART:20261224T160000Z\r\nSUMMARY:Borrel\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert dav_request(
        mailstack, "PUT", shared_event, (alice.address, PASSWORD), body=ics, content_type="text/calendar"
    ).status in {403, 404}
    shared = device_services.set_shared_collections(actor=SYSTEM, domain=stack_domain, enabled=True)
    mail.wait_live(shared)

    def shared_writable():
        status = dav_request(
            mailstack, "PUT", shared_event, (alice.address, PASSWORD), body=ics, content_type="text/calendar"
        ).status
        return status in {201, 204}

    wait_until(shared_writable, timeout=10, what="the shared calendar to exist and be writable")
    assert dav_request(mailstack, "GET", shared_event, (carol.address, PASSWORD)).status == 200
    shared_contact = f"/shared-{stack_domain.name}/contacts/leverancier.vcf"
    assert dav_request(
        mailstack,
        "PUT",
        shared_contact,
        (carol.address, PASSWORD),
        body=vcard("leverancier", "Molen de Hoop"),
        content_type="text/vcard",
    ).status in {201, 204}
    assert dav_request(mailstack, "GET", shared_event, (bob.address, PASSWORD)).status in {403, 404}
    # the shared collections cannot be deleted by a user
    assert dav_request(
        mailstack, "DELETE", f"/shared-{stack_domain.name}/calendar/", (carol.address, PASSWORD)
    ).status in {403, 405}

    # switched off: no access, the data stays for later
    shared = device_services.set_shared_collections(actor=SYSTEM, domain=stack_domain, enabled=False)
    mail.wait_live(shared)
    wait_until(
        lambda: dav_request(mailstack, "GET", shared_event, (carol.address, PASSWORD)).status in {403, 404},
        timeout=10,
        what="the shared calendar to be closed",
    )
    storage = dav_host.client_endpoints.storage_path
    assert (storage / "collection-root" / f"shared-{stack_domain.name}" / "calendar" / "borrel.ics").exists()


def test_password_change_and_disabling_apply_to_dav_at_once(dav_host, stack_domain, mail, mailstack, fresh):
    mailbox = create_mailbox(stack_domain, fresh("dav"), PASSWORD)
    mail.wait_live(mailbox)
    own = f"/{mailbox.address}/"
    assert dav_request(mailstack, "PROPFIND", own, (mailbox.address, PASSWORD)).status == 207

    services.set_mailbox_password(actor=SYSTEM, mailbox=mailbox, password="Nieuw-Wachtwoord-77")
    mail.wait_live(mailbox)
    assert (
        dav_request(mailstack, "PROPFIND", own, (mailbox.address, PASSWORD), source="127.0.0.5").status == 401
    )
    assert dav_request(mailstack, "PROPFIND", own, (mailbox.address, "Nieuw-Wachtwoord-77")).status == 207
    # a login in capitals reaches the same, lower-case principal
    assert (
        dav_request(mailstack, "PROPFIND", own, (mailbox.address.upper(), "Nieuw-Wachtwoord-77")).status
        == 207
    )

    services.disable_mailbox(actor=SYSTEM, mailbox=mailbox)
    mail.wait_live(mailbox)
    status = dav_request(
        mailstack, "PROPFIND", own, (mailbox.address, "Nieuw-Wachtwoord-77"), source="127.0.0.6"
    )
    assert status.status == 401


def test_relay_credentials_get_no_calendar(dav_host, stack_domain, mail, mailstack):
    from relay.services import create_credential

    credential, secret = create_credential(
        actor=SYSTEM, customer=stack_domain.customer, name="webshop", domains=[stack_domain]
    )
    mail.wait_live(credential)
    status = dav_request(
        mailstack, "PROPFIND", f"/{credential.username}/", (credential.username, secret)
    ).status
    assert status in {401, 403}


def test_well_known_discovery_finds_the_calendars_from_the_address_alone(
    dav_host, stack_domain, mail, mailstack, fresh
):
    mailbox = create_mailbox(stack_domain, fresh("wk"), PASSWORD)
    mail.wait_live(mailbox)
    for path in ["/.well-known/caldav", "/.well-known/carddav"]:
        response = dav_request(mailstack, "GET", path, None)
        assert response.status == 301
        assert response.getheader("Location") == "/"
    calendars = (
        dav_client(mailstack, mailbox.address, PASSWORD, "/.well-known/caldav").principal().calendars()
    )
    assert calendars


def test_huge_dav_bodies_are_refused(dav_host, stack_domain, mail, mailstack, fresh, settings):
    mailbox = create_mailbox(stack_domain, fresh("groot"), PASSWORD)
    mail.wait_live(mailbox)
    body = "x" * (settings.DAV_MAX_CONTENT_LENGTH + 1)
    try:
        status = dav_request(
            mailstack,
            "PUT",
            f"/{mailbox.address}/calendar/big.ics",
            (mailbox.address, PASSWORD),
            body=body,
            content_type="text/calendar",
        ).status
    except (ConnectionError, ssl.SSLError):
        status = 413  # Radicale answers 413 and closes before the body is sent
    assert status == 413
