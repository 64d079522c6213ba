import pytest
from django.core.exceptions import ValidationError

from mailaccounts.models import Alias, DkimKey, Domain, Mailbox
from mailaccounts.services.domains import normalize_domain_name, verify_domain
from mailhosts.models import MailHost
from tenants.audit import Actor
from tenants.models import AuditEntry


def add(client, name):
    return client.post("/domains/add/", {"name": name})


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Example.NL", "example.nl"),
        ("example.nl.", "example.nl"),
        ("  mail.example.co.uk ", "mail.example.co.uk"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
        ("例え.jp", "xn--r8jz45g.jp"),
        ("x.github.io", "x.github.io"),
    ],
)
def test_names_are_stored_as_punycode(typed, stored):
    assert normalize_domain_name(typed) == stored


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("", "Enter a domain name"),
        ("localhost", "not a valid domain name"),
        ("exa mple.nl", "not a valid domain name"),
        ("under_score.nl", "not a valid domain name"),
        ("-dash.nl", "not a valid domain name"),
        ("a..b.nl", "not a valid domain name"),
        ("x" * 64 + ".nl", "not a valid domain name"),
        (("a" * 60 + ".") * 5 + "nl", "at most 253"),
        ("192.168.1.1", "not an IP address"),
        ("co.uk", "public suffix"),
        ("nl", "not a valid domain name"),
        ("github.io", "public suffix"),
        ("аpple.com", "mixes letters"),  # Cyrillic а in a Latin name
        ("pаypal.nl", "mixes letters"),
        ("<script>.nl", "not a valid domain name"),
    ],
)
def test_bad_names_are_refused_with_a_clear_error(typed, error):
    with pytest.raises(ValidationError) as raised:
        normalize_domain_name(typed)
    assert error in " ".join(raised.value.messages)


def test_add_domain_goes_to_the_default_host_with_a_token(
    owner_client, customer, django_capture_on_commit_callbacks
):
    response = add(owner_client, "Bücher.example")
    domain = Domain.objects.get(name="xn--bcher-kva.example")
    assert response["Location"] == f"/domains/{domain.pk}/"
    assert domain.customer == customer
    assert domain.mailhost == MailHost.objects.default()
    assert len(domain.verification_token) == 32 and not domain.is_verified
    assert domain.revision == domain.mailhost.desired_revision > 0
    assert AuditEntry.objects.filter(action="domain.added", customer=customer).exists()
    page = owner_client.get(f"/domains/{domain.pk}/").content.decode()
    assert "bücher.example" in page
    assert "_postbode.xn--bcher-kva.example" in page
    assert f"postbode-verify={domain.verification_token}" in page


def test_adding_a_domain_enqueues_the_apply_after_commit(owner_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        add(owner_client, "neu.example")
    assert callbacks  # the host's apply task is sent after commit


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("bakkerij.example", "You have already added bakkerij.example"),
        ("BAKKERIJ.example.", "You have already added bakkerij.example"),
        ("concurrent.example", "The domain concurrent.example is already in use"),
    ],
)
def test_names_taken_by_any_customer_are_refused(owner_client, domain, other_domain, name, error):
    response = add(owner_client, name)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert Domain.objects.count() == 2


def test_bad_and_overlong_input_is_a_form_error(owner_client):
    for name in ["co.uk", "x" * 1000, "аpple.com", "nul\x00.example"]:
        response = add(owner_client, name)
        assert response.status_code == 200
        assert response.context["form"].errors["name"]
    assert not Domain.objects.exists()


def test_member_can_add_domains(member_client, customer):
    add(member_client, "member.example")
    assert Domain.objects.get(name="member.example").customer == customer


def test_list_shows_unicode_names_and_status(owner_client, domain, customer):
    Domain.objects.create(
        customer=customer, name="xn--bcher-kva.example", mailhost=domain.mailhost, verification_token="t"
    )
    page = owner_client.get("/domains/").content.decode()
    assert "bakkerij.example" in page and "bücher.example" in page
    assert "Verified" in page and "Unverified" in page


def test_outsider_sees_only_own_domains(outsider_client, domain, other_domain):
    page = outsider_client.get("/domains/").content.decode()
    assert "concurrent.example" in page and "bakkerij.example" not in page


# Verification against the local DNS server


@pytest.fixture
def unverified(customer):
    return Domain.objects.create(
        customer=customer,
        name="nieuw.example",
        mailhost=MailHost.objects.default(),
        verification_token="abc123",
    )


def test_check_now_verifies_when_the_record_is_published(owner_client, unverified, dns_server):
    dns_server.set_zone('_postbode.nieuw.example. 300 IN TXT "postbode-verify=abc123"\n')
    response = owner_client.post(f"/domains/{unverified.pk}/verify/", follow=True)
    assert "Domain verified" in response.content.decode()
    unverified.refresh_from_db()
    assert unverified.is_verified
    assert unverified.revision == unverified.mailhost.desired_revision
    assert AuditEntry.objects.filter(action="domain.verified").exists()


def test_record_among_others_and_split_strings_is_found(unverified, dns_server):
    dns_server.set_zone(
        '_postbode.nieuw.example. 300 IN TXT "v=spf1 -all"\n'
        '_postbode.nieuw.example. 300 IN TXT "postbode-" "verify=abc123"\n'
    )
    assert verify_domain(domain=unverified, actor=Actor.system()).verified


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        ("", "No record found at _postbode.nieuw.example"),
        (
            '_postbode.nieuw.example. 300 IN TXT "postbode-verify=wrong"\n',
            "does not hold postbode-verify=abc123",
        ),
        ('nieuw.example. 300 IN TXT "postbode-verify=abc123"\n', "No record found"),
    ],
)
def test_missing_or_wrong_record_leaves_domain_unverified(
    owner_client, unverified, dns_server, zone, message
):
    dns_server.set_zone(zone)
    response = owner_client.post(f"/domains/{unverified.pk}/verify/", follow=True)
    assert message in response.content.decode()
    unverified.refresh_from_db()
    assert not unverified.is_verified and unverified.verification_checked_at is not None


def test_dns_timeout_is_reported_not_a_crash(owner_client, unverified, dns_server, quick_dns_timeout):
    dns_server.resolver.silent.add("_postbode.nieuw.example")
    response = owner_client.post(f"/domains/{unverified.pk}/verify/", follow=True)
    assert response.status_code == 200
    assert "timed out" in response.content.decode()


def test_make_resolver_uses_settings(settings):
    from mailaccounts.services.dns import make_resolver

    settings.DNS_RESOLVERS = ["127.0.0.9"]
    settings.DNS_PORT = 5353
    settings.DNS_TIMEOUT = 2.5
    resolver = make_resolver()
    assert resolver.nameservers == ["127.0.0.9"]
    assert resolver.port == 5353 and resolver.lifetime == 2.5


# Removal


def test_delete_confirmation_lists_what_goes_with_it(owner_client, domain):
    Mailbox.objects.create(
        customer=domain.customer, domain=domain, local_part="info", password_hash="x", quota_bytes=1
    )
    Alias.objects.create(
        customer=domain.customer, domain=domain, local_part="sales", destinations=["info@bakkerij.example"]
    )
    DkimKey.objects.create(domain=domain, selector="s1", private_key_encrypted="x", public_key="y")
    page = owner_client.get(f"/domains/{domain.pk}/delete/").content.decode()
    assert "1 mailbox" in page and "1 alias" in page and "1 DKIM key" in page


def test_owner_removes_domain_with_everything_on_it(owner_client, domain, customer):
    Mailbox.objects.create(
        customer=customer, domain=domain, local_part="info", password_hash="x", quota_bytes=1
    )
    host = domain.mailhost
    before = host.desired_revision
    response = owner_client.post(f"/domains/{domain.pk}/delete/", {"confirm_name": "bakkerij.example"})
    assert response["Location"] == "/domains/"
    assert not Domain.objects.exists() and not Mailbox.objects.exists()
    host.refresh_from_db()
    assert host.desired_revision == before + 1
    entry = AuditEntry.objects.get(action="domain.removed")
    assert entry.changes["mailboxes"] == 1 and entry.customer == customer


@pytest.mark.parametrize("typed", ["", "bakkerij", "other.example"])
def test_removing_a_domain_needs_its_name_typed(owner_client, domain, typed):
    Mailbox.objects.create(
        customer=domain.customer, domain=domain, local_part="info", password_hash="x", quota_bytes=1
    )
    response = owner_client.post(f"/domains/{domain.pk}/delete/", {"confirm_name": typed})
    assert response.status_code == 200
    assert "Type bakkerij.example exactly to remove it." in response.content.decode() or typed == ""
    assert Domain.objects.filter(pk=domain.pk).exists() and Mailbox.objects.exists()


def test_member_cannot_remove_a_domain(member_client, domain):
    assert member_client.get(f"/domains/{domain.pk}/delete/").status_code == 403
    assert member_client.post(f"/domains/{domain.pk}/delete/").status_code == 403
    assert Domain.objects.filter(pk=domain.pk).exists()


@pytest.mark.parametrize("suffix", ["", "verify/", "delete/"])
def test_outsider_gets_404_for_another_customers_domain(outsider_client, domain, suffix):
    response = (
        outsider_client.post(f"/domains/{domain.pk}/{suffix}")
        if suffix
        else outsider_client.get(f"/domains/{domain.pk}/")
    )
    assert response.status_code == 404
    assert Domain.objects.filter(pk=domain.pk).exists()


def test_double_submit_adds_the_domain_once(owner_client):
    add(owner_client, "dubbel.example")
    second = add(owner_client, "dubbel.example")
    assert "You have already added dubbel.example" in second.content.decode()
    assert Domain.objects.filter(name="dubbel.example").count() == 1


@pytest.mark.parametrize("count", [1, 20])
def test_domain_list_queries_do_not_grow(owner_client, customer, count, django_assert_max_num_queries):
    host = MailHost.objects.default()
    for number in range(count):
        Domain.objects.create(
            customer=customer, name=f"n{number}.example", mailhost=host, verification_token="t"
        )
    with django_assert_max_num_queries(6):
        page = owner_client.get("/domains/").content.decode()
    assert page.count("/domains/") >= count


def test_idna_2008_names_are_shown_in_unicode(owner_client):
    add(owner_client, "straße.example")
    domain = Domain.objects.get()
    assert domain.name == "xn--strae-oqa.example"
    assert domain.unicode_name == "straße.example"
    assert "straße.example" in owner_client.get("/domains/").content.decode()
