from mailaccounts.models import Domain
from mailhosts.models import MailHost


def add_domains(customer, count, *, verified=True, prefix="d"):
    from django.utils import timezone

    host = MailHost.objects.default()
    for number in range(count):
        Domain.objects.create(
            customer=customer,
            name=f"{prefix}{number}.example",
            mailhost=host,
            verification_token="t",
            verified_at=timezone.now() if verified else None,
        )


def test_dashboard_shows_plan_storage_and_domains(owner_client, domain, make_mailbox):
    make_mailbox("info", quota_gb=2, used_gb=1)
    page = owner_client.get("/").content.decode()
    assert "Basis" in page and "€\xa04.50" in page
    assert "2\xa0GB of 5\xa0GB allocated" in page  # decimal gigabytes, as the product page sells them
    assert "1\xa0GB of 2\xa0GB in use" in page
    assert "bakkerij.example" in page and "DNS not checked yet" in page


def test_needs_attention_lists_unverified_domains_and_full_mailboxes(owner_client, customer, make_mailbox):
    add_domains(customer, 1, verified=False)
    make_mailbox("vol", quota_gb=1, used_gb=0.95)
    make_mailbox("leeg", quota_gb=1, used_gb=0.1)
    page = owner_client.get("/").content.decode()
    attention = page.split('id="attention"')[1].split('id="domains"')[0]
    assert "d0.example: Not ready yet: prove the domain is yours" in attention
    assert "vol@bakkerij.example" in attention and "leeg@" not in attention


def test_needs_attention_shows_suspension_and_missing_two_factor(client, member, customer):
    from tenants.models import Customer

    Customer.objects.filter(pk=customer.pk).update(status="suspended")
    client.force_login(member)
    page = client.get("/").content.decode()
    assert "Your account is suspended" in page
    assert "This account is suspended" in page  # the banner of base.html


def count_dashboard_queries(client) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return len(queries)


def test_dashboard_queries_do_not_grow_with_domains(
    owner_client, customer, make_mailbox, django_assert_max_num_queries
):
    add_domains(customer, 1, verified=False)
    make_mailbox("vol", quota_gb=1, used_gb=1)
    with_one = count_dashboard_queries(owner_client)
    add_domains(customer, 19, verified=False, prefix="more")
    make_mailbox("vol2", quota_gb=1, used_gb=1)
    with django_assert_max_num_queries(with_one):
        assert owner_client.get("/").content.decode().count(".example</a>") >= 21


def test_needs_attention_names_users_without_required_two_factor(owner_client, owner, member, customer):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(user=owner, type=Authenticator.Type.TOTP, data={"secret": "x"})
    customer.require_two_factor = True
    customer.save()
    attention = owner_client.get("/").content.decode().split('id="attention"')[1].split('id="domains"')[0]
    assert "member@example.com has not set up two-factor" in attention
    assert "owner@example.com" not in attention
