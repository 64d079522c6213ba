"""Thunderbird autoconfig and Outlook Autodiscover: per domain, the same for any address, 404 elsewhere,
and bad XML refused with a 400 without reading anything."""

import xml.etree.ElementTree as ET

import pytest

pytestmark = pytest.mark.django_db

AUTODISCOVER = """<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>{address}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>"""
RESPONSE_NS = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"


def servers(xml: bytes) -> list[tuple[str, str, str, str]]:
    root = ET.fromstring(xml)
    return [
        (s.get("type"), s.findtext("hostname"), s.findtext("port"), s.findtext("socketType"))
        for s in root.iter()
        if s.tag in {"incomingServer", "outgoingServer"}
    ]


def test_autoconfig_offers_imap_pop3_and_smtp_with_ssl_and_starttls(client, mailbox):
    response = client.get("/mail/config-v1.1.xml", {"emailaddress": mailbox.address})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    host = "mx1.postbode.localhost"
    assert servers(response.content) == [
        ("imap", host, "993", "SSL"),
        ("imap", host, "143", "STARTTLS"),
        ("pop3", host, "995", "SSL"),
        ("pop3", host, "110", "STARTTLS"),
        ("smtp", host, "465", "SSL"),
        ("smtp", host, "587", "STARTTLS"),
    ]
    root = ET.fromstring(response.content)
    assert root.find("emailProvider/domain").text == "bakkerij.example"
    assert {e.findtext("username") for e in root.iter() if e.tag.endswith("Server")} == {"%EMAILADDRESS%"}
    assert root.find("calendar/serverURL").text == "https://mx1.postbode.localhost/"


def test_autoconfig_is_the_same_for_any_address_of_the_domain_and_by_host_name(client, mailbox, settings):
    settings.ALLOWED_HOSTS = ["*"]
    existing = client.get("/mail/config-v1.1.xml", {"emailaddress": mailbox.address}).content
    unknown = client.get("/mail/config-v1.1.xml", {"emailaddress": "nobody@bakkerij.example"}).content
    by_host = client.get(
        "/.well-known/autoconfig/mail/config-v1.1.xml", HTTP_HOST="autoconfig.bakkerij.example"
    )
    assert existing == unknown == by_host.content


def test_autoconfig_of_a_domain_we_do_not_host_is_404(client, mailbox, settings):
    settings.ALLOWED_HOSTS = ["*"]
    assert client.get("/mail/config-v1.1.xml", {"emailaddress": "a@elsewhere.example"}).status_code == 404
    assert client.get("/mail/config-v1.1.xml", HTTP_HOST="autoconfig.elsewhere.example").status_code == 404
    assert client.get("/mail/config-v1.1.xml", {"emailaddress": "no-at-sign"}).status_code == 404
    assert client.get("/mail/config-v1.1.xml").status_code == 404


def post_autodiscover(client, body, **extra):
    return client.post("/autodiscover/autodiscover.xml", data=body, content_type="text/xml", **extra)


def test_autodiscover_answers_with_imap_pop3_and_smtp_for_the_address(client, mailbox):
    response = post_autodiscover(client, AUTODISCOVER.format(address=mailbox.address))
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    protocols = {
        p.findtext(f"{RESPONSE_NS}Type"): (
            p.findtext(f"{RESPONSE_NS}Server"),
            p.findtext(f"{RESPONSE_NS}Port"),
            p.findtext(f"{RESPONSE_NS}SSL"),
            p.findtext(f"{RESPONSE_NS}LoginName"),
        )
        for p in root.iter(f"{RESPONSE_NS}Protocol")
    }
    host = "mx1.postbode.localhost"
    assert protocols == {
        "IMAP": (host, "993", "on", mailbox.address),
        "POP3": (host, "995", "on", mailbox.address),
        "SMTP": (host, "465", "on", mailbox.address),
    }


def test_autodiscover_does_not_tell_which_mailboxes_exist(client, mailbox):
    known = post_autodiscover(client, AUTODISCOVER.format(address=mailbox.address)).content
    unknown = post_autodiscover(client, AUTODISCOVER.format(address="nobody@bakkerij.example")).content
    assert known.replace(mailbox.address.encode(), b"X") == unknown.replace(b"nobody@bakkerij.example", b"X")


def test_autodiscover_escapes_odd_addresses(client, mailbox):
    odd = "a&amp;b&lt;c&gt;&quot;@bakkerij.example"  # a&b<c>"@bakkerij.example, escaped in the request
    response = post_autodiscover(client, AUTODISCOVER.format(address=odd))
    assert response.status_code == 200
    login = ET.fromstring(response.content).find(f".//{RESPONSE_NS}LoginName").text
    assert login == 'a&b<c>"@bakkerij.example'


def test_autodiscover_of_a_domain_we_do_not_host_is_404(client, mailbox):
    assert post_autodiscover(client, AUTODISCOVER.format(address="a@elsewhere.example")).status_code == 404


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
<Request><EMailAddress>&lol3;@bakkerij.example</EMailAddress></Request></Autodiscover>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///{secret}">]>'
        '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">'
        "<Request><EMailAddress>&e;</EMailAddress></Request></Autodiscover>",
        "<Autodiscover><Request><EMailAddress>jan@bakkerij.example",  # truncated
        "<Other><Request><EMailAddress>jan@bakkerij.example</EMailAddress></Request></Other>",
        AUTODISCOVER.format(address="no-at-sign"),
        "",
    ],
    ids=["billion-laughs", "xxe", "truncated", "wrong-root", "no-address", "empty"],
)
def test_bad_autodiscover_bodies_get_400_and_read_no_file(client, mailbox, body, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top-secret-content")
    response = post_autodiscover(client, body.replace("{secret}", str(secret)))
    assert response.status_code == 400
    assert b"top-secret-content" not in response.content
    assert b"lol" not in response.content


def test_huge_autodiscover_bodies_get_400(client, mailbox, settings):
    body = AUTODISCOVER.format(address=mailbox.address) + " " * settings.AUTODISCOVER_MAX_BYTES
    assert post_autodiscover(client, body).status_code == 400


def test_autodiscover_wants_post(client, mailbox):
    assert client.get("/autodiscover/autodiscover.xml").status_code == 405


def test_client_endpoints_of_the_host_change_every_answer(client, mailbox):
    from devices.models import ClientEndpoints

    ClientEndpoints.objects.create(
        mailhost=mailbox.domain.mailhost, hostname="mail.example.net", imaps_port=1993, dav_port=8443
    )
    xml = client.get("/mail/config-v1.1.xml", {"emailaddress": mailbox.address}).content
    assert ("imap", "mail.example.net", "1993", "SSL") in servers(xml)
    assert ET.fromstring(xml).find("addressBook/serverURL").text == "https://mail.example.net:8443/"
