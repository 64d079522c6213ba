"""Issue 15, "test the whole class" and point 6: hostile values into every form of every customer page.

Every page of a customer with one of everything is read as a browser would; each POST form on it gets
(1) huge, negative and non-numeric ids in every choice field, and (2) a list of hostile texts in every text
field. No answer may be a 500, no out-of-range id may reach the database, and afterwards every file the mail
host would be given and every zone file must be one its program accepts.
"""

import shutil
import subprocess

import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.zone
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mailaccounts.dnsrecords import records_for, zone_fragment
from mailaccounts.models import Domain
from mailhosts.rendering import _renderers, render_host
from tests.conftest import require_service, settled

from .cast import Victim, customer_routes
from .forms_on_pages import forms_on

HUGE = "99999999999999999999"
BAD_IDS = [HUGE, "-1", "0", "abc", "1e9", " 1", "１"]
HOSTILE = [
    "",
    " ",
    "a" * 5000,
    "\x00",
    "a\x00b",
    "\r\n",
    "a\nb: c",
    "a\r\nBcc: x@example.com",
    "'",
    '"',
    '"q:x"@example.com',
    '"a;p=none"@example.com',
    "x@[127.0.0.1]",
    "x@a.b",
    "<script>alert(1)</script>",
    "${evil}",
    "*",
    "-a",
    "=?utf-8?q?info?=",
    "../../etc/passwd",
    "a,b",
    "a:b",
    "a;b",
    "a b",
    "\t",
    "%s%n%x",
    "{{ 7*7 }}",
    "{% debug %}",
    "' OR 1=1 --",
    "\\",
    'x"; discard; stop; "',
    'require "fileinto";\nfileinto "x";',
    "é",
    "😀",
    "\u202e",
    "\ufeff",
    "\x7f",
    HUGE,
    "-1",
    "1e309",
    "NaN",
    "[]",
    "$(id)",
    "`id`",
    ".",
    "..",
    "postmaster",
    "jan@bakkerij.example",
]


@pytest.fixture
def victim(customer, domain, member):
    return Victim(customer, domain, member)


def page_urls(victim) -> list[str]:
    urls = []
    for route in customer_routes():
        if route.arguments:
            if route.name in {"invitation_accept", "devices:profile_download", "billing:payment_return"}:
                continue
            urls.append(victim.url(route))
        else:
            urls.append("/" + route.route)
    return urls


def all_forms(client, victim):
    seen, forms = set(), []
    for url in page_urls(victim):
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for form in forms_on(url, response.content.decode()):
            key = (form.action, tuple(sorted(form.values)), tuple(sorted(form.choice_fields)))
            if key not in seen:
                seen.add(key)
                forms.append(form)
    return forms


def post(client, action, data) -> int:
    try:
        return client.post(action, data).status_code
    except Exception as error:  # the test client re-raises what a view raised: that is a 500
        print(f"{action}: {error!r}")
        return 500


def test_the_walk_finds_the_forms_of_every_app(owner_client, victim):
    from django.urls import resolve

    forms = all_forms(owner_client, victim)
    apps = {resolve(form.action).app_name or "tenants" for form in forms}
    assert {"tenants", "mailaccounts", "relay", "spamfilter", "devices", "billing", "backups"} <= apps
    assert len(forms) >= 25


def test_out_of_range_ids_in_every_choice_field_are_refused_before_the_database(owner_client, victim):
    """Point 6: `domains=99999999999999999999` was a 500 (OverflowError); now every choice field refuses
    a value that cannot be an id with its message, and no query is sent with it."""
    problems = []
    for form in all_forms(owner_client, victim):
        for name, offered in form.choice_fields.items():
            if not any(value.isdigit() for value in offered):
                continue  # not ids (a role, a policy)
            for bad in BAD_IDS:
                data = form.data() | {name: [bad]}
                with CaptureQueriesContext(connection) as queries:
                    status = post(owner_client, form.action, data)
                if status >= 500:
                    problems.append(f"{form.action} {name}={bad!r}: {status}")
                if any(HUGE in str(query["sql"]) for query in queries.captured_queries):
                    problems.append(f"{form.action} {name}={bad!r}: the id reached the database")
    assert not problems, problems


def assert_zone_served_as_computed(domain, dns_server) -> int:
    """The domain's zone file as DNS servers read it: dnspython's master-file parser (RFC 1035 §5), and the
    tests' DNS server (dnslib's parser) answering real queries. Every record the panel computed is in it, and
    every TXT record comes back string for string as computed: no line a server refuses, no broken quotes, no
    smuggled tag or line. Returns how many records it checked."""
    text = zone_fragment(domain)
    zone = dns.zone.from_text(text, origin=domain.name + ".", relativize=False, check_origin=False)
    dns_server.set_zone(text)
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = ["127.0.0.1"], dns_server.port
    records = records_for(domain)
    for record in records:
        node = zone.get_node(record.name + ".")
        rdataset = node and node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.from_text(record.rtype))
        assert rdataset, (domain.name, record.zone_line)
        if record.rtype == "TXT":
            expected = tuple(part.encode(errors="surrogateescape") for part in record.strings)
            assert expected in {tuple(rdata.strings) for rdata in rdataset}, record.zone_line
            answer = resolver.resolve(record.name, "TXT", search=False)
            assert expected in {tuple(rdata.strings) for rdata in answer}, record.zone_line
    return len(records)


def test_a_huge_domain_id_for_a_relay_credential_is_refused_with_a_message(owner_client, domain):
    """Point 6, the instance: `domains=99999999999999999999` on /relay/credentials/add/ was an OverflowError."""
    from relay.models import RelayCredential

    for bad in (HUGE, "-1", "abc"):
        response = owner_client.post("/relay/credentials/add/", {"name": "webshop", "domains": [bad]})
        assert response.status_code == 200
        assert (
            f"Select a valid choice. {bad} is not one of the available choices." in response.content.decode()
        )
    assert not RelayCredential.objects.exists()


def test_hostile_text_in_every_field_is_never_a_500_and_every_zone_stays_valid(
    owner_client, victim, dns_server
):
    problems = []
    for form in all_forms(owner_client, victim):
        if not form.text_fields:
            continue
        for value in HOSTILE:
            data = form.data() | {name: [value] for name in form.text_fields}
            status = post(owner_client, form.action, data)
            if status >= 500:
                problems.append(f"{form.action} ← {value!r}: {status}")
    assert not problems, problems
    checked = sum(assert_zone_served_as_computed(domain, dns_server) for domain in Domain.objects.all())
    assert checked >= 10


@pytest.mark.integration
def test_after_hostile_input_the_mail_host_accepts_every_file(owner_client, victim, tmp_path):
    """The files the mail host would get are accepted by its own programs: `postmap` for every hash map,
    `sievec` for every Sieve script; passwd-files have exactly Dovecot's seven fields per line."""
    require_service(bool(shutil.which("postmap") and shutil.which("sievec")), "postmap and sievec")
    for form in all_forms(owner_client, victim):
        switched_on = {name: ["on"] for name, offered in form.choice_fields.items() if offered == ["on"]}
        for value in HOSTILE:
            data = form.data() | switched_on | {name: [value] for name in form.text_fields}
            post(owner_client, form.action, data)
    checked = {"postmap": 0, "sievec": 0}
    config = render_host(victim.domain.mailhost)
    postfix_etc = tmp_path / "postfix-etc"
    postfix_etc.mkdir()
    (postfix_etc / "main.cf").write_text("")  # postmap reads a main.cf; the defaults are what matter here
    settled(postfix_etc / "main.cf")
    hash_maps = {path for renderer in _renderers.values() for path in renderer.hash_maps}
    for path, rendered in config.files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(rendered.content)
        if path in hash_maps:
            run = subprocess.run(
                ["postmap", "-c", str(postfix_etc), f"hash:{target}"], capture_output=True, text=True
            )
            assert run.returncode == 0 and "warning" not in run.stderr, (path, run.stderr)
            checked["postmap"] += 1
        elif path.endswith(".sieve"):
            run = subprocess.run(
                ["sievec", str(target), str(tmp_path / "out.svbin")], capture_output=True, text=True
            )
            assert run.returncode == 0, (path, run.stdout, run.stderr)
            checked["sievec"] += 1
        elif "passwd" in path:
            for line in rendered.content.decode().splitlines():
                assert line.count(":") >= 6 and "\x00" not in line, (path, line)
    assert checked["postmap"] >= 3 and checked["sievec"] >= 1, checked
