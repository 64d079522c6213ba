"""Issue 15, point 7: the DMARC and TLS-RPT reporting address, and the zone file that carries it."""

import dns.rdatatype
import dns.zone
import pytest
from django.urls import reverse

from mailaccounts.dnsrecords import DnsRecord, escape_character_string, records_for, zone_fragment
from mailaccounts.models import DomainDnsSettings

SMUGGLING = ['"a;p=none"@example.com', "a;p=none@example.com", "a@example.com\r\nx", 'a"b@example.com']


def parse(zone_text: str, origin: str) -> dns.zone.Zone:
    """The zone as a DNS server reads it (dnspython's master-file parser, RFC 1035 §5)."""
    return dns.zone.from_text(zone_text, origin=origin + ".", relativize=False, check_origin=False)


def txt_values(zone: dns.zone.Zone, name: str) -> list[str]:
    node = zone.get_node(name + ".")
    rdataset = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.TXT)
    return [b"".join(rdata.strings).decode() for rdata in rdataset]


@pytest.mark.parametrize("address", SMUGGLING)
def test_the_form_refuses_an_address_that_would_smuggle_a_tag(owner_client, domain, address):
    response = owner_client.post(
        reverse("mailaccounts:dmarc_settings", args=[domain.pk]),
        {"dmarc_policy": "reject", "dmarc_report_email": address, "mta_sts_mode": "testing"},
    )
    assert response.status_code == 400 and response.context["form"].errors["dmarc_report_email"]
    assert not DomainDnsSettings.objects.filter(domain=domain, dmarc_policy="reject").exists()


@pytest.mark.parametrize("address", SMUGGLING)
def test_a_stored_unsafe_address_never_reaches_the_records(domain, address):
    """An address stored before the rule existed: the records fall back to postmaster@, and the zone file
    parses to exactly the policy the customer chose."""
    DomainDnsSettings.objects.create(domain=domain, dmarc_policy="reject", dmarc_report_email=address)
    zone = parse(zone_fragment(domain), domain.name)
    (dmarc,) = txt_values(zone, f"_dmarc.{domain.name}")
    assert dmarc == f"v=DMARC1; p=reject; rua=mailto:postmaster@{domain.name}"
    (tlsrpt,) = txt_values(zone, f"_smtp._tls.{domain.name}")
    assert tlsrpt == f"v=TLSRPTv1; rua=mailto:postmaster@{domain.name}"


def test_a_valid_reporting_address_is_published(owner_client, domain):
    owner_client.post(
        reverse("mailaccounts:dmarc_settings", args=[domain.pk]),
        {
            "dmarc_policy": "quarantine",
            "dmarc_report_email": "rapport@example.org",
            "mta_sts_mode": "testing",
        },
    )
    zone = parse(zone_fragment(domain), domain.name)
    assert txt_values(zone, f"_dmarc.{domain.name}") == [
        "v=DMARC1; p=quarantine; rua=mailto:rapport@example.org"
    ]


@pytest.mark.parametrize("value", ['a"b', "a\\b", "a\nb", 'x" "y', "é" * 200, "\x00\x7f"])
def test_zone_file_strings_are_escaped_per_rfc_1035(domain, value):
    record = next(r for r in records_for(domain) if r.rtype == "TXT")
    from mailaccounts.dnsrecords import split_txt

    hostile = DnsRecord(
        "x", f"x.{domain.name}", "TXT", value, 3600, "", domain_name=domain.name, strings=split_txt(value)
    )
    assert record.zone_line
    zone = parse(f"$TTL 3600\n{hostile.zone_line}\n", domain.name)
    assert txt_values(zone, f"x.{domain.name}") == [value]
    assert "\n" not in hostile.zone_line


def test_escaping_leaves_ordinary_text_alone():
    assert escape_character_string("v=DMARC1; p=none") == "v=DMARC1; p=none"
    assert escape_character_string('"') == '\\"'
