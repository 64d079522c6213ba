"""The live DNS checker against a real authoritative server on 127.0.0.1, for every kind of published zone."""

import pytest

from mailaccounts.dnsrecords import records_for
from mailaccounts.models import DkimKey, DnsCheckResult
from mailaccounts.services.dnschecks import check_domain, domain_health

ALL_KEYS = [
    "mx",
    "spf",
    "dkim:pb202611",
    "dmarc",
    "autoconfig",
    "autodiscover",
    "srv:_autodiscover._tcp",
    "srv:_imaps._tcp",
    "srv:_pop3s._tcp",
    "srv:_submission._tcp",
    "srv:_submissions._tcp",
    "srv:_caldavs._tcp",
    "srv:_carddavs._tcp",
    "mta-sts",
    "mta-sts-host",
    "tls-rpt",
]


def statuses(domain) -> dict[str, str]:
    return {
        key: status
        for key, status in DnsCheckResult.objects.filter(domain=domain).values_list("record_key", "status")
    }


def result(domain, key) -> DnsCheckResult:
    return DnsCheckResult.objects.get(domain=domain, record_key=key)


def problem_codes(domain, key) -> list[str]:
    return [p["code"] for p in result(domain, key).problems]


def test_all_correct_zone_is_all_ok(domain, rsa_key, publish):
    publish()
    check_domain(domain)
    assert statuses(domain) == dict.fromkeys(ALL_KEYS, "ok")
    assert domain_health(domain).status == "ok"


@pytest.mark.parametrize("missing", ALL_KEYS)
def test_each_missing_record_is_reported_missing_and_only_it(domain, rsa_key, publish, missing):
    publish(skip=(missing,))
    check_domain(domain)
    expected = dict.fromkeys(ALL_KEYS, "ok")
    expected[missing] = "missing"
    assert statuses(domain) == expected
    health = domain_health(domain)
    if missing in ("mx", "spf", "dmarc", "dkim:pb202611"):  # required: mail does not work yet
        assert (health.status, health.missing, health.improvements) == ("incomplete", 1, 0)
        assert health.label == "Not ready yet: add 1 record"
    else:  # recommended: an improvement, never a problem
        assert (health.status, health.missing, health.improvements) == ("ok", 0, 1)
        assert health.label == "Your mail works"


def test_nxdomain_for_the_whole_domain_is_missing_everywhere(domain, rsa_key, dns_server):
    dns_server.set_zone('other.example. 60 IN TXT "x"\n')
    check_domain(domain)
    assert set(statuses(domain).values()) == {"missing"}
    assert problem_codes(domain, "mx") == ["nxdomain"]


def test_timeout_is_could_not_check_never_ok(domain, rsa_key, publish, dns_server, quick_dns_timeout):
    publish()
    dns_server.silence("_dmarc.bakkerij.example")
    dns_server.silence("pb202611._domainkey.bakkerij.example")
    check_domain(domain)
    assert result(domain, "dmarc").status == "unreachable"
    assert result(domain, "dkim:pb202611").status == "unreachable"
    assert problem_codes(domain, "dmarc") == ["timeout"]
    assert result(domain, "mx").status == "ok"


def test_timeout_does_not_activate_a_waiting_key(domain, rsa_key, publish, dns_server, quick_dns_timeout):
    publish()
    dns_server.silence("pb202611._domainkey.bakkerij.example")
    check_domain(domain)
    rsa_key.refresh_from_db()
    assert rsa_key.state == DkimKey.State.PUBLISH


def test_dkim_split_across_strings_is_ok(domain, rsa_key, publish):
    dkim_record = next(r for r in records_for(domain) if r.key.startswith("dkim:"))
    assert len(dkim_record.strings) == 2  # a 2048-bit key does not fit in one 255-byte string
    publish()
    check_domain(domain)
    assert result(domain, "dkim:pb202611").status == "ok"


def test_dkim_split_at_odd_places_is_ok(domain, rsa_key, publish):
    value = next(r for r in records_for(domain) if r.key.startswith("dkim:")).value
    parts = " ".join(f'"{value[i : i + 100]}"' for i in range(0, len(value), 100))
    publish(skip=("dkim:pb202611",), extra=f"pb202611._domainkey.bakkerij.example. 300 IN TXT {parts}\n")
    check_domain(domain)
    assert result(domain, "dkim:pb202611").status == "ok"


def test_dkim_record_seen_live_starts_signing(domain, rsa_key, publish):
    publish()
    check_domain(domain)
    rsa_key.refresh_from_db()
    assert rsa_key.state == DkimKey.State.ACTIVE


def test_dkim_with_another_key_is_conflicting_and_never_activates(domain, rsa_key, publish):
    other = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAx" + "A" * 300
    publish(
        skip=("dkim:pb202611",),
        extra=f'pb202611._domainkey.bakkerij.example. 300 IN TXT "v=DKIM1; k=rsa; p={other[:200]}" "{other[200:]}"\n',
    )
    check_domain(domain)
    assert result(domain, "dkim:pb202611").status == "conflicting"
    assert problem_codes(domain, "dkim:pb202611") == ["dkim_key_mismatch"]
    rsa_key.refresh_from_db()
    assert rsa_key.state == DkimKey.State.PUBLISH


def test_dkim_with_a_truncated_key_is_not_ok(domain, rsa_key, publish):
    value = next(r for r in records_for(domain) if r.key.startswith("dkim:")).value
    publish(
        skip=("dkim:pb202611",), extra=f'pb202611._domainkey.bakkerij.example. 300 IN TXT "{value[:255]}"\n'
    )
    check_domain(domain)
    assert result(domain, "dkim:pb202611").status == "conflicting"


def test_dkim_wrong_key_type_is_wrong(domain, rsa_key, publish):
    value = next(r for r in records_for(domain) if r.key.startswith("dkim:")).value.replace(
        "k=rsa", "k=ed25519"
    )
    parts = " ".join(f'"{value[i : i + 200]}"' for i in range(0, len(value), 200))
    publish(skip=("dkim:pb202611",), extra=f"pb202611._domainkey.bakkerij.example. 300 IN TXT {parts}\n")
    check_domain(domain)
    res = result(domain, "dkim:pb202611")
    assert res.status == "wrong"
    assert res.problems[0]["part"] == "k=" and res.problems[0]["found"] == "ed25519"


def test_two_spf_records_are_conflicting(domain, rsa_key, publish):
    publish(extra='bakkerij.example. 300 IN TXT "v=spf1 include:_spf.google.com ~all"\n')
    check_domain(domain)
    assert result(domain, "spf").status == "conflicting"
    assert problem_codes(domain, "spf") == ["multiple"]
    assert len(result(domain, "spf").found) == 2


def spf_chain_zone(lookups_in_includes: int) -> str:
    """`include:` targets that together need the given number of lookups."""
    lines = []
    for n in range(lookups_in_includes):
        lines.append(f'inc{n}.spf.example. 300 IN TXT "v=spf1 ip4:192.0.2.{n} -all"')
    return "\n".join(lines) + "\n"


def test_spf_needing_exactly_10_lookups_is_ok(domain, rsa_key, publish):
    includes = " ".join(f"include:inc{n}.spf.example" for n in range(9))
    zone = spf_chain_zone(9) + f'bakkerij.example. 300 IN TXT "v=spf1 mx {includes} -all"\n'
    publish(skip=("spf",), extra=zone)
    check_domain(domain)
    assert result(domain, "spf").status == "ok"


def test_spf_needing_11_lookups_through_nested_includes_is_conflicting(domain, rsa_key, publish):
    nested = 'nested.spf.example. 300 IN TXT "v=spf1 include:inc0.spf.example include:inc1.spf.example include:inc2.spf.example a mx -all"\n'
    includes = " ".join(f"include:inc{n}.spf.example" for n in range(3, 7))
    zone = (
        spf_chain_zone(7)
        + nested
        + f'bakkerij.example. 300 IN TXT "v=spf1 mx include:nested.spf.example {includes} -all"\n'
    )
    publish(skip=("spf",), extra=zone)
    check_domain(domain)
    res = result(domain, "spf")
    assert res.status == "conflicting"
    assert res.problems[0] == {"code": "spf_too_many_lookups", "count": "11"}
    assert "11" in res.problem_messages[0]


def test_spf_redirect_is_followed_and_counted(domain, rsa_key, publish):
    chain = "".join(
        f'r{n}.spf.example. 300 IN TXT "v=spf1 a mx redirect=r{n + 1}.spf.example"\n' for n in range(5)
    )
    chain += 'r5.spf.example. 300 IN TXT "v=spf1 -all"\n'
    publish(skip=("spf",), extra=chain + 'bakkerij.example. 300 IN TXT "v=spf1 mx redirect=r0.spf.example"\n')
    check_domain(domain)
    assert problem_codes(domain, "spf")[0] == "spf_too_many_lookups"


def test_spf_include_loop_does_not_hang(domain, rsa_key, publish):
    loop = 'loop.spf.example. 300 IN TXT "v=spf1 include:loop.spf.example -all"\n'
    publish(
        skip=("spf",), extra=loop + 'bakkerij.example. 300 IN TXT "v=spf1 mx include:loop.spf.example -all"\n'
    )
    check_domain(domain)
    assert result(domain, "spf").status == "conflicting"


def test_spf_include_without_spf_record_is_conflicting(domain, rsa_key, publish):
    publish(skip=("spf",), extra='bakkerij.example. 300 IN TXT "v=spf1 mx include:gone.example -all"\n')
    check_domain(domain)
    assert problem_codes(domain, "spf") == ["spf_target_missing"]


def test_spf_with_the_customers_own_include_is_ok(domain, rsa_key, publish):
    extra = 'news.example. 300 IN TXT "v=spf1 ip4:198.51.100.0/24 -all"\n'
    publish(
        skip=("spf",), extra=extra + 'bakkerij.example. 300 IN TXT "v=spf1 mx include:news.example ~all"\n'
    )
    check_domain(domain)
    assert result(domain, "spf").status == "ok"


@pytest.mark.parametrize(
    ("spf", "code"),
    [
        ("v=spf1 ip4:192.0.2.1 -all", "spf_no_mx"),
        ("v=spf1 mx +all", "spf_all"),
        ("v=spf1 mx ?all", "spf_all"),
        ("v=spf1 mx", "spf_all"),
        ("v=spf1 mx inclde:typo.example -all", "spf_unknown_term"),
    ],
)
def test_wrong_spf_says_what_differs(domain, rsa_key, publish, spf, code):
    publish(
        skip=("spf",),
        extra=f'bakkerij.example. 300 IN TXT "{spf}"\nbakkerij.example. 300 IN TXT "google-site-verification=abc"\n',
    )
    check_domain(domain)
    assert result(domain, "spf").status == "wrong"
    assert code in problem_codes(domain, "spf")


def test_mx_pointing_elsewhere_is_conflicting(domain, rsa_key, publish):
    publish(skip=("mx",), extra="bakkerij.example. 300 IN MX 10 mail.elsewhere.example.\n")
    check_domain(domain)
    res = result(domain, "mx")
    assert res.status == "conflicting"
    assert res.problems[0]["code"] == "mx_elsewhere"
    assert res.problems[0]["found"] == "mail.elsewhere.example"


def test_mx_with_an_extra_host_is_conflicting(domain, rsa_key, publish):
    publish(extra="bakkerij.example. 300 IN MX 5 backup.elsewhere.example.\n")
    check_domain(domain)
    assert problem_codes(domain, "mx") == ["mx_extra"]


@pytest.mark.parametrize(
    "dmarc",
    [
        "v=DMARC1; p=maybe; rua=mailto:postmaster@bakkerij.example",
        "v=DMARC1; rua=mailto:postmaster@bakkerij.example",
        "v=DMARC1; p=none; rua=postmaster@bakkerij.example",
        "v=DMARC1; p=none; pct=150; rua=mailto:postmaster@bakkerij.example",
        "v=DMARC1; p=none rua=mailto:postmaster@bakkerij.example",
        "p=none; v=DMARC1; rua=mailto:postmaster@bakkerij.example",
        "v=DMARC1; p=none; adkim=x; rua=mailto:postmaster@bakkerij.example",
    ],
)
def test_dmarc_syntax_errors_are_conflicting(domain, rsa_key, publish, dmarc):
    publish(skip=("dmarc",), extra=f'_dmarc.bakkerij.example. 300 IN TXT "{dmarc}"\n')
    check_domain(domain)
    assert result(domain, "dmarc").status == "conflicting"
    assert set(problem_codes(domain, "dmarc")) & {
        "syntax",
        "not_first",
        "tag_required",
        "tag_value",
        "tag_uri",
    }


def test_two_dmarc_records_are_conflicting(domain, rsa_key, publish):
    publish(extra='_dmarc.bakkerij.example. 300 IN TXT "v=DMARC1; p=reject"\n')
    check_domain(domain)
    assert problem_codes(domain, "dmarc") == ["multiple"]


def test_a_stricter_dmarc_policy_than_ours_is_fine(domain, rsa_key, publish):
    publish(
        skip=("dmarc",),
        extra='_dmarc.bakkerij.example. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@bakkerij.example"\n',
    )
    check_domain(domain)
    assert result(domain, "dmarc").status == "ok"
    assert domain_health(domain).status == "ok"


def test_a_weaker_dmarc_policy_than_chosen_is_wrong_and_shows_the_difference(domain, rsa_key, publish):
    from mailaccounts.services.dns import dns_settings_for

    dns_settings = dns_settings_for(domain)
    dns_settings.dmarc_policy = "reject"
    dns_settings.save(update_fields=["dmarc_policy"])
    publish(
        skip=("dmarc",),
        extra='_dmarc.bakkerij.example. 300 IN TXT "v=DMARC1; p=none; rua=mailto:postmaster@bakkerij.example"\n',
    )
    check_domain(domain)
    res = result(domain, "dmarc")
    assert res.status == "wrong"
    assert res.problems == [{"code": "differs", "part": "p=", "found": "none", "expected": "reject"}]
    assert res.problem_messages == ["p= is “none”; expected “reject”."]
    health = domain_health(domain)
    assert (health.status, health.broken, health.label) == (
        "problems",
        ("DMARC",),
        "Problem: DMARC not right",
    )


def test_dmarc_reporting_elsewhere_is_wrong(domain, rsa_key, publish):
    publish(
        skip=("dmarc",),
        extra='_dmarc.bakkerij.example. 300 IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@thirdparty.example"\n',
    )
    check_domain(domain)
    assert result(domain, "dmarc").problems[0]["part"] == "rua="


def test_wrong_cname_and_srv_show_found_and_expected(domain, rsa_key, publish):
    extra = (
        "autoconfig.bakkerij.example. 300 IN CNAME other.example.\n"
        "_imaps._tcp.bakkerij.example. 300 IN SRV 0 1 143 mx1.postbode.localhost.\n"
    )
    publish(skip=("autoconfig", "srv:_imaps._tcp"), extra=extra)
    check_domain(domain)
    assert result(domain, "autoconfig").status == "wrong"
    assert result(domain, "autoconfig").found == ["other.example"]
    srv = result(domain, "srv:_imaps._tcp")
    assert srv.status == "wrong"
    assert srv.problems == [{"code": "differs", "part": "port", "found": "143", "expected": "993"}]
    assert srv.problem_messages == ["The port is “143”; expected “993”."]


def test_stale_mta_sts_id_is_wrong(domain, rsa_key, publish):
    publish(skip=("mta-sts",), extra='_mta-sts.bakkerij.example. 300 IN TXT "v=STSv1; id=20200101"\n')
    check_domain(domain)
    assert result(domain, "mta-sts").status == "wrong"
    assert result(domain, "mta-sts").problems[0]["found"] == "20200101"


GARBAGE = [
    b"\xff\xfe\x00\x01\x80garbage",  # length byte 255 with 10 bytes behind it: malformed RDATA
    b"\x08\xff\xfe\xfd\x00\x01\x02\x03\x04",  # well-formed, not UTF-8
    b"\x00",  # one empty string
    b"\x0ev=DKIM1; p=\xff\xff\x00",  # a DKIM-looking record with binary junk
    b"\x07v=spf1 \x05\x00\x00\x00\x00\x00",
]


@pytest.mark.parametrize("rdata", GARBAGE)
def test_garbage_txt_never_crashes_and_is_never_ok(
    domain, rsa_key, publish, dns_server, rdata, quick_dns_timeout
):
    publish(skip=("dkim:pb202611", "spf", "dmarc", "tls-rpt", "mta-sts"))
    for name in [
        "pb202611._domainkey.bakkerij.example",
        "bakkerij.example",
        "_dmarc.bakkerij.example",
        "_smtp._tls.bakkerij.example",
        "_mta-sts.bakkerij.example",
    ]:
        dns_server.add_raw(name, "TXT", rdata)
    check_domain(domain)
    for key in ["dkim:pb202611", "spf", "dmarc", "tls-rpt", "mta-sts"]:
        assert result(domain, key).status != "ok", key
    rsa_key.refresh_from_db()
    assert rsa_key.state == DkimKey.State.PUBLISH


def test_a_record_that_breaks_emails_the_owner_once(
    domain, rsa_key, publish, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://panel.postbode.test"
    publish()
    with django_capture_on_commit_callbacks(execute=True):
        check_domain(domain)
    assert mailoutbox == []

    publish(skip=("spf",))
    with django_capture_on_commit_callbacks(execute=True):
        check_domain(domain)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["owner@example.com"]
    assert "bakkerij.example" in message.subject
    assert "bakkerij.example TXT" in message.body
    assert "v=spf1 mx -all" in message.body
    assert "https://panel.postbode.test/domains/" in message.body
    assert message.alternatives and "v=spf1 mx -all" in message.alternatives[0][0]

    with django_capture_on_commit_callbacks(execute=True):
        check_domain(domain)
    assert len(mailoutbox) == 1  # still broken: no new e-mail


def test_unreachable_after_ok_sends_no_email(
    domain, rsa_key, publish, dns_server, mailoutbox, django_capture_on_commit_callbacks, quick_dns_timeout
):
    publish()
    with django_capture_on_commit_callbacks(execute=True):
        check_domain(domain)
    dns_server.silence("_dmarc.bakkerij.example")
    with django_capture_on_commit_callbacks(execute=True):
        check_domain(domain)
    assert mailoutbox == []


def test_results_of_records_no_longer_expected_are_removed(domain, rsa_key, publish):
    publish()
    check_domain(domain)
    rsa_key.state = DkimKey.State.RETIRED
    rsa_key.save(update_fields=["state"])
    check_domain(domain)
    assert "dkim:pb202611" not in statuses(domain)


def test_dmarc_syntax_error_message_says_what_is_wrong(domain, rsa_key, publish):
    publish(
        skip=("dmarc",),
        extra='_dmarc.bakkerij.example. 300 IN TXT "v=DMARC1; p=maybe; rua=mailto:postmaster@bakkerij.example"\n',
    )
    check_domain(domain)
    assert result(domain, "dmarc").problem_messages == [
        "Syntax error: p=maybe is not allowed; allowed: none, quarantine, reject."
    ]
