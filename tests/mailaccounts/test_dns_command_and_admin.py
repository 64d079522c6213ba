"""`manage.py dns`, the periodic check, and the admin screens for keys and check results."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from mailaccounts.dnsrecords import records_for
from mailaccounts.models import DkimKey, DnsCheckResult
from mailaccounts.services.dns import dns_settings_for
from mailaccounts.services.dnschecks import domains_due
from mailaccounts.tasks import check_dns_due


def run(*args) -> str:
    out = StringIO()
    call_command("dns", *args, stdout=out)
    return out.getvalue()


def test_dns_records_prints_every_record_like_the_page(domain, rsa_key):
    output = run("records", "bakkerij.example")
    for record in records_for(domain):
        assert f"{record.name}  {record.rtype}  TTL {record.ttl}" in output
        assert record.value in output
        assert str(record.why) in output


def test_dns_records_zone_option_prints_the_zone_fragment(domain, rsa_key):
    assert 'bakkerij.example. 3600 IN TXT "v=spf1 mx -all"' in run("records", "bakkerij.example", "--zone")


def test_dns_check_prints_status_and_what_differs(domain, rsa_key, publish):
    publish(skip=("dmarc", "mx"), extra="bakkerij.example. 300 IN MX 10 mail.elsewhere.example.\n")
    output = run("check", "bakkerij.example")
    assert "MISSING" in output and "_dmarc.bakkerij.example" in output
    assert "CONFLICTING" in output and "mail.elsewhere.example" in output
    assert "14 of 16 records ok" in output
    assert DnsCheckResult.objects.filter(domain=domain).count() == 16


@pytest.mark.parametrize("name", ["unknown.example", "bad..name", "ünknown.example"])
def test_dns_command_with_unknown_domain_is_a_clear_error(db, name):
    with pytest.raises(CommandError):
        run("records", name)


def test_periodic_check_spreads_domains_over_the_hour(domain):
    slot = domain.pk % 12
    in_slot = datetime(2026, 11, 30, 10, slot * 5 + 1, tzinfo=UTC)
    other_slot = in_slot + timedelta(minutes=30)
    checked = dns_settings_for(domain)
    checked.dns_checked_at = in_slot - timedelta(minutes=10)
    checked.save()
    assert domains_due(in_slot) == [domain]
    assert domains_due(other_slot) == []
    checked.dns_checked_at = other_slot - timedelta(hours=2)
    checked.save()
    assert domains_due(other_slot) == [domain]  # not checked for over an hour: due anyway


def test_never_checked_domain_is_due_at_once(domain):
    assert domains_due() == [domain]


def test_check_dns_due_task_checks_and_activates(domain, rsa_key, publish, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    publish()
    assert check_dns_due() == 1
    rsa_key.refresh_from_db()
    assert rsa_key.state == DkimKey.State.ACTIVE
    assert DnsCheckResult.objects.filter(domain=domain, status="ok").count() == 16


def test_admin_lists_keys_without_the_private_part_and_searches(staff_client, rsa_key):
    listing = staff_client.get(reverse("admin:mailaccounts_dkimkey_changelist"), {"q": "bakkerij"})
    assert listing.status_code == 200
    assert "pb202611" in listing.content.decode()
    detail = staff_client.get(
        reverse("admin:mailaccounts_dkimkey_change", args=[rsa_key.pk])
    ).content.decode()
    assert rsa_key.public_key[:40] in detail
    assert rsa_key.private_key_encrypted[:40] not in detail
    assert "PRIVATE" not in detail
    none = staff_client.get(reverse("admin:mailaccounts_dkimkey_changelist"), {"q": "nothing-like-this"})
    assert "pb202611" not in none.content.decode()


def test_admin_shows_check_results_per_domain(staff_client, domain, rsa_key, publish):
    from mailaccounts.services.dnschecks import check_domain

    publish(skip=("spf",))
    check_domain(domain)
    listing = staff_client.get(
        reverse("admin:mailaccounts_dnscheckresult_changelist"), {"q": "bakkerij.example"}
    )
    assert listing.status_code == 200
    assert "missing" in listing.content.decode().lower()
    result = DnsCheckResult.objects.get(domain=domain, record_key="spf")
    detail = staff_client.get(reverse("admin:mailaccounts_dnscheckresult_change", args=[result.pk]))
    assert detail.status_code == 200
    assert "There is no SPF record" in detail.content.decode()
    assert staff_client.get(reverse("admin:mailaccounts_domaindnssettings_changelist")).status_code == 200


def test_domain_with_a_key_waiting_to_be_published_is_due_every_run(domain, rsa_key):
    checked = dns_settings_for(domain)
    other_slot = datetime(2026, 11, 30, 10, ((domain.pk % 12 + 6) % 12) * 5, tzinfo=UTC)
    checked.dns_checked_at = other_slot - timedelta(minutes=5)
    checked.save()
    assert domains_due(other_slot) == [domain]
    rsa_key.state = DkimKey.State.ACTIVE
    rsa_key.save(update_fields=["state"])
    assert domains_due(other_slot) == []


def test_unverified_domains_are_not_checked(domain):
    domain.verified_at = None
    domain.save(update_fields=["verified_at"])
    assert domains_due() == []
