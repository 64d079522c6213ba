"""The DNS and DKIM pages: who may see them, and what a customer can do there."""

import pytest
from django.urls import reverse

from mailaccounts.models import DkimKey, DnsCheckResult, DomainDnsSettings
from tenants.models import AuditEntry


def urls_for(domain, key=None):
    pk = domain.pk
    urls = [
        ("get", reverse("mailaccounts:dns_records", args=[pk])),
        ("post", reverse("mailaccounts:dns_check", args=[pk])),
        ("get", reverse("mailaccounts:dns_zone_download", args=[pk])),
        ("get", reverse("mailaccounts:dmarc_settings", args=[pk])),
        ("post", reverse("mailaccounts:dmarc_settings", args=[pk])),
        ("post", reverse("mailaccounts:dkim_generate", args=[pk])),
    ]
    if key is not None:
        urls += [
            ("get", reverse("mailaccounts:dkim_rotate", args=[pk, key.pk])),
            ("post", reverse("mailaccounts:dkim_rotate", args=[pk, key.pk])),
        ]
    return urls


def test_every_url_sends_anonymous_visitors_to_login(client, signing_key, domain):
    for method, url in urls_for(domain, signing_key):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url


def test_every_url_is_404_for_another_customer(outsider_client, signing_key, domain, dns_server):
    for method, url in urls_for(domain, signing_key):
        assert getattr(outsider_client, method)(url).status_code == 404, url
    assert not DomainDnsSettings.objects.filter(domain=domain).exists()
    assert DkimKey.objects.filter(domain=domain).count() == 1


def test_rotating_another_domains_key_through_my_domain_is_404(owner_client, domain, other_domain):
    from mailaccounts.services.dkim import generate_dkim_key
    from tenants.audit import Actor

    foreign = generate_dkim_key(domain=other_domain, actor=Actor.system())
    url = reverse("mailaccounts:dkim_rotate", args=[domain.pk, foreign.pk])
    assert owner_client.get(url).status_code == 404


def test_records_page_shows_every_record_with_copy_buttons(
    owner_client, domain, rsa_key, django_assert_max_num_queries
):
    url = reverse("mailaccounts:dns_records", args=[domain.pk])
    with django_assert_max_num_queries(15):
        response = owner_client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    for text in [
        "10 mx1.postbode.localhost",
        "v=spf1 mx -all",
        "pb202611._domainkey.bakkerij.example",
        "_dmarc",
        "_imaps._tcp",
        "_submissions._tcp",
        "_mta-sts",
        "_smtp._tls",
        "autodiscover",
    ]:
        assert text in html
    assert html.count("data-copy=") >= 13
    assert rsa_key.public_key[:60] in html
    assert "js/copy.js" in html
    assert "Too long for one DNS string" in html
    assert "To publish" in html


def test_member_can_see_the_records_page(member_client, domain):
    assert member_client.get(reverse("mailaccounts:dns_records", args=[domain.pk])).status_code == 200


def test_zone_download_is_the_whole_set(owner_client, domain, rsa_key):
    response = owner_client.get(reverse("mailaccounts:dns_zone_download", args=[domain.pk]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode()
    assert 'bakkerij.example. 3600 IN TXT "v=spf1 mx -all"' in body
    assert 'pb202611._domainkey.bakkerij.example. 3600 IN TXT "v=DKIM1; k=rsa; p=' in body


def test_generate_key_from_the_page(owner_client, domain):
    response = owner_client.post(
        reverse("mailaccounts:dkim_generate", args=[domain.pk]), {"algorithm": "rsa", "selector": ""}
    )
    assert response.status_code == 302
    key = domain.dkim_keys.get()
    assert key.state == DkimKey.State.PUBLISH and key.algorithm == "rsa"
    assert AuditEntry.objects.filter(action="dkim.generate", actor__email="owner@example.com").exists()


@pytest.mark.parametrize("selector", ["bad.selector", "has space", "ünïcode", "x" * 64, "<script>"])
def test_hostile_selector_in_the_form_is_a_clear_error_and_saves_nothing(owner_client, domain, selector):
    response = owner_client.post(
        reverse("mailaccounts:dkim_generate", args=[domain.pk]), {"algorithm": "rsa", "selector": selector}
    )
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert not domain.dkim_keys.exists()


def test_ed25519_alone_from_the_form_is_refused(owner_client, domain):
    response = owner_client.post(
        reverse("mailaccounts:dkim_generate", args=[domain.pk]), {"algorithm": "ed25519"}
    )
    assert response.status_code == 400
    assert "never alone" in response.content.decode()
    assert not domain.dkim_keys.exists()


def test_unknown_algorithm_is_a_form_error(owner_client, domain):
    response = owner_client.post(
        reverse("mailaccounts:dkim_generate", args=[domain.pk]), {"algorithm": "dsa"}
    )
    assert response.status_code == 400
    assert not domain.dkim_keys.exists()


def test_rotate_asks_for_confirmation_then_creates_a_key_to_publish(owner_client, domain, signing_key):
    url = reverse("mailaccounts:dkim_rotate", args=[domain.pk, signing_key.pk])
    page = owner_client.get(url)
    assert page.status_code == 200
    assert "keeps signing" in page.content.decode()
    assert domain.dkim_keys.count() == 1

    response = owner_client.post(url, {"algorithm": "rsa", "selector": "pb202612"})
    assert response.status_code == 302
    new = domain.dkim_keys.get(selector="pb202612")
    assert new.state == DkimKey.State.PUBLISH
    signing_key.refresh_from_db()
    assert signing_key.state == DkimKey.State.ACTIVE


def test_rotate_of_a_key_that_is_not_signing_is_404(owner_client, domain, rsa_key):
    assert (
        owner_client.get(reverse("mailaccounts:dkim_rotate", args=[domain.pk, rsa_key.pk])).status_code == 404
    )


def test_check_now_stores_results_and_shows_them(owner_client, domain, rsa_key, publish):
    publish(skip=("dmarc",))
    response = owner_client.post(reverse("mailaccounts:dns_check", args=[domain.pk]), follow=True)
    html = response.content.decode()
    assert DnsCheckResult.objects.filter(domain=domain).count() == 16
    assert DnsCheckResult.objects.get(domain=domain, record_key="dmarc").status == "missing"
    assert "Checked: Not ready yet: add 1 record." in html
    assert "Missing" in html
    rsa_key.refresh_from_db()
    assert rsa_key.state == DkimKey.State.ACTIVE


def test_wrong_record_shows_found_and_expected_on_the_page(owner_client, domain, rsa_key, publish):
    publish(skip=("spf",), extra='bakkerij.example. 300 IN TXT "v=spf1 a -all"\n')
    response = owner_client.post(reverse("mailaccounts:dns_check", args=[domain.pk]), follow=True)
    html = response.content.decode()
    assert "Found:" in html and "v=spf1 a -all" in html
    assert "has no “mx”" in html


def test_dmarc_settings_change_the_record_to_publish(owner_client, domain):
    url = reverse("mailaccounts:dmarc_settings", args=[domain.pk])
    assert owner_client.get(url).status_code == 200
    response = owner_client.post(
        url,
        {
            "dmarc_policy": "quarantine",
            "dmarc_report_email": "dmarc@bakkerij.example",
            "mta_sts_mode": "enforce",
        },
    )
    assert response.status_code == 302
    page = owner_client.get(reverse("mailaccounts:dns_records", args=[domain.pk])).content.decode()
    assert "v=DMARC1; p=quarantine; rua=mailto:dmarc@bakkerij.example" in page
    assert "v=TLSRPTv1; rua=mailto:dmarc@bakkerij.example" in page
    assert AuditEntry.objects.filter(action="dns.settings").exists()


@pytest.mark.parametrize(
    "data",
    [
        {"dmarc_policy": "everything", "dmarc_report_email": "", "mta_sts_mode": "testing"},
        {"dmarc_policy": "none", "dmarc_report_email": "not an address", "mta_sts_mode": "testing"},
        {"dmarc_policy": "none", "dmarc_report_email": "a@b.example\r\nBcc: x@y", "mta_sts_mode": "testing"},
        {"dmarc_policy": "none", "dmarc_report_email": "", "mta_sts_mode": "off"},
    ],
)
def test_bad_dmarc_settings_are_refused(owner_client, domain, data):
    response = owner_client.post(reverse("mailaccounts:dmarc_settings", args=[domain.pk]), data)
    assert response.status_code == 400
    assert not DomainDnsSettings.objects.filter(domain=domain).exclude(dmarc_policy="none").exists()
    assert not AuditEntry.objects.filter(action="dns.settings").exists()


def test_mta_sts_policy_is_served_for_the_domains_mta_sts_host(client, domain, settings):
    settings.ALLOWED_HOSTS = [".bakkerij.example", "testserver"]
    response = client.get("/.well-known/mta-sts.txt", HTTP_HOST="mta-sts.bakkerij.example")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert (
        response.content.decode()
        == "version: STSv1\r\nmode: testing\r\nmx: mx1.postbode.localhost\r\nmax_age: 604800\r\n"
    )


def test_mta_sts_policy_of_unknown_or_unverified_domain_is_404(client, domain, settings):
    settings.ALLOWED_HOSTS = ["*"]
    assert client.get("/.well-known/mta-sts.txt", HTTP_HOST="mta-sts.unknown.example").status_code == 404
    assert client.get("/.well-known/mta-sts.txt", HTTP_HOST="bakkerij.example").status_code == 404
    domain.verified_at = None
    domain.save(update_fields=["verified_at"])
    assert client.get("/.well-known/mta-sts.txt", HTTP_HOST="mta-sts.bakkerij.example").status_code == 404


def test_health_include_for_the_dashboard(owner_client, domain, rsa_key, publish):
    from django.template.loader import render_to_string

    from mailaccounts.models import Domain
    from mailaccounts.services.dnschecks import check_domain, with_dns_health

    assert "DNS not checked yet" in render_to_string("mailaccounts/_dns_health.html", {"domain": domain})
    publish(skip=("spf",))
    check_domain(domain)
    annotated = with_dns_health(Domain.objects.all()).get(pk=domain.pk)
    html = render_to_string("mailaccounts/_dns_health.html", {"domain": annotated})
    assert "Not ready yet: add 1 record" in html and "badge-warn" in html


def test_dns_overview_lists_only_my_domains_with_health(
    owner_client, domain, other_domain, signing_key, django_assert_max_num_queries
):
    from mailaccounts.models import Domain
    from mailhosts.models import MailHost

    for n in range(5):
        Domain.objects.create(
            customer=domain.customer,
            name=f"extra{n}.example",
            mailhost=MailHost.objects.default(),
            verification_token="t",
        )
    host = signing_key.domain.mailhost
    MailHost.objects.filter(pk=host.pk).update(applied_revision=signing_key.revision)  # the key is live
    url = reverse("mailaccounts:dns_overview")
    with django_assert_max_num_queries(8):
        response = owner_client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "bakkerij.example" in html and "extra4.example" in html
    assert "concurrent.example" not in html
    assert "pb202611" in html
    assert "DNS not checked yet" in html
    assert f'href="{url}"' in html  # in the side navigation


def test_dns_overview_sends_anonymous_visitors_to_login(client, db):
    response = client.get(reverse("mailaccounts:dns_overview"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_suspended_customer_cannot_create_keys_or_change_settings(owner_client, domain, customer):
    customer.status = customer.Status.SUSPENDED
    customer.save(update_fields=["status"])
    owner_client.post(reverse("mailaccounts:dkim_generate", args=[domain.pk]), {"algorithm": "rsa"})
    owner_client.post(
        reverse("mailaccounts:dmarc_settings", args=[domain.pk]),
        {"dmarc_policy": "reject", "dmarc_report_email": "", "mta_sts_mode": "testing"},
    )
    assert not domain.dkim_keys.exists()
    assert not DomainDnsSettings.objects.filter(domain=domain, dmarc_policy="reject").exists()


def test_dashboard_and_domain_page_show_dns_health(owner_client, domain, rsa_key, publish):
    from mailaccounts.services.dnschecks import check_domain

    publish(skip=("dmarc", "spf"))
    check_domain(domain)
    dashboard = owner_client.get(reverse("dashboard")).content.decode()
    assert "Not ready yet: add 2 records" in dashboard
    assert reverse("mailaccounts:dns_records", args=[domain.pk]) in dashboard
    detail = owner_client.get(reverse("mailaccounts:domain_detail", args=[domain.pk])).content.decode()
    assert "Not ready yet: add 2 records" in detail


def key_cell(html: str, selector: str) -> str:
    row = html.split(f'id="key-{selector}"', 1)[1]
    return row.split("</tr>", 1)[0]


def test_a_key_shows_signing_only_once_the_mail_host_applied_it(owner_client, signing_key):
    from mailhosts.models import MailHost

    host = signing_key.domain.mailhost
    url = reverse("mailaccounts:dns_records", args=[signing_key.domain.pk])
    MailHost.objects.filter(pk=host.pk).update(applied_revision=signing_key.revision - 1)
    cell = key_cell(owner_client.get(url).content.decode(), signing_key.selector)
    assert "Starts signing" in cell and 'data-live-state="pending"' in cell
    assert ">Signing<" not in cell

    MailHost.objects.filter(pk=host.pk).update(last_error="opendkim: no such key")
    cell = key_cell(owner_client.get(url).content.decode(), signing_key.selector)
    assert 'data-live-state="failed"' in cell and ">Signing<" not in cell
    overview = owner_client.get(reverse("mailaccounts:dns_overview")).content.decode()
    assert "not signing yet" in overview

    MailHost.objects.filter(pk=host.pk).update(applied_revision=signing_key.revision, last_error="")
    cell = key_cell(owner_client.get(url).content.decode(), signing_key.selector)
    assert ">Signing<" in cell and 'data-live-state="live"' in cell
    overview = owner_client.get(reverse("mailaccounts:dns_overview")).content.decode()
    assert f"<code>{signing_key.selector}</code>" in overview
