"""Issue 15, point 1: an unverified domain claims nothing; a verified claim wins; unverified ones expire."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from mailaccounts.models import Alias, Domain
from mailaccounts.rendering import render_mail_accounts
from mailaccounts.services.domains import expire_unverified_domains
from mailhosts.models import MailHost
from tenants.models import AuditEntry


@pytest.fixture
def squatter_claim(other_customer):
    """Another customer's unverified claim on a name, e.g. gmail.com or our customer's own domain."""

    def claim(name: str) -> Domain:
        return Domain.objects.create(
            customer=other_customer,
            name=name,
            mailhost=MailHost.objects.default(),
            verification_token="squat",
        )

    return claim


def test_an_unverified_claim_does_not_block_forwards_or_aliases_to_that_domain(
    owner_client, domain, mailbox, squatter_claim
):
    squatter_claim("gmail.com")
    response = owner_client.post(
        reverse("mailaccounts:alias_add"),
        {"local_part": "info", "domain": domain.pk, "destinations": "bakker@gmail.com"},
    )
    assert response.status_code == 302, response.context["form"].errors
    assert Alias.objects.get().destinations == ["bakker@gmail.com"]
    owner_client.post(
        reverse("mailaccounts:mailbox_forwarding", args=[mailbox.pk]), {"forward_to": "a@gmail.com"}
    )
    mailbox.refresh_from_db()
    assert mailbox.forward_to == ["a@gmail.com"]


def test_routing_treats_an_unverified_domain_as_not_hosted(owner_client, domain, squatter_claim):
    claim = squatter_claim("gmail.com")
    config = render_mail_accounts(domain.mailhost)
    assert not any(b"gmail.com" in rendered.content for rendered in config.files.values())
    assert claim.name not in {d.name for d in Domain.objects.served()}


def test_the_real_owner_adds_their_domain_despite_an_unverified_claim(owner_client, customer, squatter_claim):
    squatter_claim("bakkerij-de-vries.nl")
    response = owner_client.post(reverse("mailaccounts:domain_add"), {"name": "bakkerij-de-vries.nl"})
    assert response.status_code == 302
    assert Domain.objects.filter(name="bakkerij-de-vries.nl", customer=customer).exists()


def test_a_verified_domain_is_still_refused_to_others(outsider_client, domain):
    response = outsider_client.post(reverse("mailaccounts:domain_add"), {"name": domain.name})
    assert "already in use" in response.content.decode()
    assert Domain.objects.filter(name=domain.name).count() == 1


def test_a_subdomain_of_another_customers_verified_domain_is_refused(outsider_client, domain):
    response = outsider_client.post(reverse("mailaccounts:domain_add"), {"name": f"newsletter.{domain.name}"})
    assert "part of a domain another customer uses" in response.content.decode()
    assert not Domain.objects.filter(name=f"newsletter.{domain.name}").exists()


def test_the_verified_claim_wins_and_the_unverified_ones_are_removed_with_a_notice(
    owner_client, customer, other_customer, squatter_claim, dns_server, django_capture_on_commit_callbacks
):
    squatter = squatter_claim("bakkerij-de-vries.nl")
    below = squatter_claim("shop.bakkerij-de-vries.nl")
    owner_client.post(reverse("mailaccounts:domain_add"), {"name": "bakkerij-de-vries.nl"})
    mine = Domain.objects.get(name="bakkerij-de-vries.nl", customer=customer)
    dns_server.set_zone(
        f'_postbode.bakkerij-de-vries.nl. 300 IN TXT "postbode-verify={mine.verification_token}"\n'
    )
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("mailaccounts:domain_verify", args=[mine.pk]))
    mine.refresh_from_db()
    assert mine.is_verified
    assert not Domain.objects.filter(pk__in=[squatter.pk, below.pk]).exists()
    notices = [m for m in mail.outbox if "outsider@example.org" in m.to]
    assert notices and "bakkerij-de-vries.nl" in notices[0].subject
    assert "Another customer has now proved" in notices[0].body
    assert AuditEntry.objects.filter(customer=other_customer, action="domain.claim_removed").count() == 2


def test_a_name_verified_by_another_customer_meanwhile_cannot_be_verified(
    owner_client, customer, domain, other_customer, dns_server
):
    late = Domain.objects.create(
        customer=other_customer, name=domain.name, mailhost=domain.mailhost, verification_token="late"
    )
    dns_server.set_zone(f'_postbode.{domain.name}. 300 IN TXT "postbode-verify=late"\n')
    from mailaccounts.services.domains import verify_domain
    from tenants.audit import Actor

    result = verify_domain(domain=late, actor=Actor.system())
    late.refresh_from_db()
    assert not result.verified and not late.is_verified and "another customer" in result.message


def test_unverified_domains_expire_after_the_set_time_with_a_notice(
    customer, squatter_claim, settings, django_capture_on_commit_callbacks
):
    settings.UNVERIFIED_DOMAIN_DAYS = 14
    old = squatter_claim("gmail.com")
    fresh = squatter_claim("hotmail.com")
    Domain.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=15))
    with django_capture_on_commit_callbacks(execute=True):
        assert expire_unverified_domains() == 1
    assert not Domain.objects.filter(pk=old.pk).exists() and Domain.objects.filter(pk=fresh.pk).exists()
    assert any("not verified within 14 days" in m.body for m in mail.outbox)


def test_the_expiry_runs_periodically(settings):
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "mailaccounts.tasks.expire_unverified_domains" in schedule


def test_the_domain_page_says_until_when_to_verify(owner_client, customer):
    owner_client.post(reverse("mailaccounts:domain_add"), {"name": "nieuw-domein.nl"})
    domain = Domain.objects.get(name="nieuw-domein.nl")
    page = owner_client.get(reverse("mailaccounts:domain_detail", args=[domain.pk])).content.decode()
    assert "or it is removed" in page and "does not stop anyone else" in page
