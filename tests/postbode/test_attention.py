"""The dashboard's attention points and the DNS verdict behind them."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Invoice
from mailaccounts.models import DkimKey, DnsCheckResult, Domain, Mailbox
from mailaccounts.services.dnschecks import domain_health, with_dns_health
from mailhosts.models import MailHost
from postbode.attention import attention_points
from relay.models import RelayMessage
from tenants.models import GB, Membership

REQUIRED = ["mx", "spf", "dmarc", "dkim:pb1"]
RECOMMENDED = ["autoconfig", "autodiscover", "srv:_imaps._tcp", "mta-sts", "mta-sts-host", "tls-rpt"]


def checked(domain, **statuses):
    """Stored check results: every record ok unless named (`spf="wrong"`, `tls_rpt="missing"`)."""
    DkimKey.objects.create(
        domain=domain, selector="pb1", private_key_encrypted="x", public_key="y", state="active"
    )
    for key in REQUIRED + RECOMMENDED:
        status = statuses.get(key.replace("-", "_").replace(":", "_").replace(".", "_"), "ok")
        DnsCheckResult.objects.create(domain=domain, record_key=key, name=key, rtype="TXT", status=status)


def points_for(membership, customer):
    domains = list(with_dns_health(Domain.objects.for_customer(customer)).select_related("mailhost"))
    return attention_points(customer, membership, domains)


@pytest.fixture
def owner_membership(owner, customer):
    return Membership.objects.get(user=owner)


def test_all_required_records_right_means_mail_works_and_nothing_needs_attention(
    owner_membership, customer, domain
):
    checked(domain, tls_rpt="missing", mta_sts="wrong", srv__imaps__tcp="missing")
    health = domain_health(domain)
    assert (health.status, health.label, health.improvements) == ("ok", "Your mail works", 3)
    assert points_for(owner_membership, customer) == []


def test_missing_required_records_say_how_many_to_add(owner_membership, customer, domain):
    checked(domain, spf="missing", dmarc="missing")
    health = domain_health(domain)
    assert (health.status, health.label) == ("incomplete", "Not ready yet: add 2 records")
    [point] = points_for(owner_membership, customer)
    assert point.level == "warn" and point.text == "bakkerij.example: Not ready yet: add 2 records"
    assert point.url == f"/domains/{domain.pk}/dns/"


def test_a_wrong_required_record_is_a_problem_that_names_it(owner_membership, customer, domain):
    checked(domain, spf="wrong", dkim_pb1="conflicting", tls_rpt="wrong")
    health = domain_health(domain)
    assert (health.status, health.broken, health.label) == (
        "problems",
        ("SPF", "DKIM"),
        "Problem: SPF, DKIM not right",
    )
    assert [p.level for p in points_for(owner_membership, customer)] == ["danger"]


def test_no_dkim_key_yet_is_one_record_to_add(customer, domain):
    checked(domain)
    DkimKey.objects.all().delete()
    DnsCheckResult.objects.filter(record_key="dkim:pb1").delete()
    assert domain_health(domain).label == "Not ready yet: add 1 record"


def test_never_checked_and_unverified_domains_need_attention(owner_membership, customer, domain):
    Domain.objects.create(
        customer=customer, name="nieuw.example", mailhost=domain.mailhost, verification_token="t"
    )
    texts = sorted(p.text for p in points_for(owner_membership, customer))
    assert texts == [
        "bakkerij.example: DNS not checked yet",
        "nieuw.example: Not ready yet: prove the domain is yours",
    ]


def test_bounces_of_the_last_day_are_counted(owner_membership, customer, domain):
    checked(domain)
    now = timezone.now()
    for n, (status, age) in enumerate([("bounced", 1), ("bounced", 20), ("bounced", 30), ("sent", 1)]):
        RelayMessage.objects.create(
            customer=customer,
            host="mx1",
            queue_id=f"Q{n}",
            received_at=now - timedelta(hours=age),
            status=status,
        )
    [point] = points_for(owner_membership, customer)
    assert point.text == "2 messages you sent in the last 24 hours bounced (could not be delivered)."
    assert point.url == "/relay/log/?status=bounced"


def test_mailboxes_near_their_quota(owner_membership, customer, domain):
    checked(domain)
    for local_part, used in [("vol", 0.95), ("leeg", 0.2), ("over", 1.0)]:
        Mailbox.objects.create(
            customer=customer,
            domain=domain,
            local_part=local_part,
            password_hash="x",
            quota_bytes=GB,
            used_bytes=int(used * GB),
        )
    points = points_for(owner_membership, customer)
    assert [(p.level, p.text) for p in points] == [
        ("danger", "over@bakkerij.example is 100% full."),
        ("warn", "vol@bakkerij.example is 95% full."),
    ]


def test_changes_the_mail_servers_could_not_apply(owner_membership, customer, domain):
    checked(domain)
    Mailbox.objects.create(
        customer=customer, domain=domain, local_part="info", password_hash="x", quota_bytes=GB, revision=5
    )
    MailHost.objects.filter(pk=domain.mailhost_id).update(applied_revision=4, last_error="postmap failed")
    [point] = points_for(owner_membership, customer)
    assert point.level == "danger" and point.text.startswith("1 change could not be applied")


def test_overdue_invoices_for_those_who_see_invoices_only(owner_membership, member, customer, domain):
    checked(domain)
    Invoice.objects.create(
        customer=customer,
        number="2026-000001",
        status=Invoice.Status.OPEN,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        issued_at=timezone.now(),
        due_date=timezone.localdate() - timedelta(days=3),
        total_incl_vat=Decimal("5.45"),
        billed_name="Bakkerij",
        billed_address="Dorpsstraat 1",
        billed_postal_code="1234 AB",
        billed_city="Utrecht",
        billed_country="NL",
    )
    [point] = points_for(owner_membership, customer)
    assert point.text == "Invoice 2026-000001 is overdue; please pay it."
    assert points_for(Membership.objects.get(user=member), customer) == []


def test_suspension_says_why(owner_membership, customer, domain):
    checked(domain)
    customer.status, customer.suspended_reason = customer.Status.SUSPENDED, "Onbetaalde facturen"
    customer.save()
    [point] = points_for(owner_membership, customer)
    assert point.text == "Your account is suspended; changes are not possible. Reason: Onbetaalde facturen"


def test_a_cname_is_never_offered_for_an_ip_address(domain, settings):
    from mailaccounts.dnsrecords import records_for

    settings.MTA_STS_POLICY_HOST = "192.0.2.10"
    record = next(r for r in records_for(domain) if r.key == "mta-sts-host")
    assert (record.rtype, record.value) == ("A", "192.0.2.10")
    settings.MTA_STS_POLICY_HOST = "panel.example.nl"
    assert next(r for r in records_for(domain) if r.key == "mta-sts-host").rtype == "CNAME"
    assert [r.key for r in records_for(domain) if r.required] == ["mx", "spf", "dmarc"]  # no DKIM key yet


def test_forwarding_to_something_that_is_not_an_address_is_one_error(owner_client, domain):
    from django.urls import reverse

    mailbox = Mailbox.objects.create(
        customer=domain.customer, domain=domain, local_part="info", password_hash="x", quota_bytes=GB
    )
    response = owner_client.post(
        reverse("mailaccounts:mailbox_forwarding", args=[mailbox.pk]),
        {"forward_to": "jan bij gmail punt com"},
    )
    html = response.content.decode()
    assert html.count("jan bij gmail punt com") >= 1 and "“jan”" not in html and "“gmail”" not in html
    mailbox.refresh_from_db()
    assert mailbox.forward_to == []
