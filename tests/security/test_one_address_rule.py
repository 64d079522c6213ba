"""Issue 15, point 8: one address rule everywhere; what the panel accepts reaches the mail host."""

import pytest
from django.urls import reverse

from mailaccounts.models import Alias, DomainDnsSettings, Mailbox
from mailaccounts.rendering import render_mail_accounts
from tenants.addresses import normalize_email_address
from tenants.models import Customer, Invitation, User

HOSTILE_ADDRESSES = [
    '"q:x"@example.com',
    '"a;p=none"@example.com',
    "x@[127.0.0.1]",
    "x@127.0.0.1",
    "x@[IPv6:::1]",
    "x@a.b",
    "x@co.uk",
    "a'b@example.com",
    "a/b@example.com",
    "a,b@example.com",
    "a!b@example.com",
    "a%b@example.com",
    "a@b@example.com",
    "x@exa\x00mple.com",
    "x\n@example.com",
]


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES)
def test_the_rule_refuses(address):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        normalize_email_address(address)


@pytest.mark.parametrize(
    "address, normalized",
    [
        ("jan@example.com", "jan@example.com"),
        ("Jan.de.Vries+bon@Bakkerij.NL", "Jan.de.Vries+bon@bakkerij.nl"),
        ("bounce=x@mail.example.co.uk", "bounce=x@mail.example.co.uk"),
        ("piet@bücher.de", "piet@xn--bcher-kva.de"),
    ],
)
def test_the_rule_accepts_real_addresses(address, normalized):
    assert normalize_email_address(address) == normalized


def test_reserved_test_names_are_refused_in_production(settings):
    from django.core.exceptions import ValidationError

    settings.EXTRA_MAIL_SUFFIXES = []
    with pytest.raises(ValidationError, match="top-level domain"):
        normalize_email_address("jan@bakkerij.example")


def test_a_forward_the_mail_host_cannot_take_is_refused_and_what_is_stored_is_rendered(owner_client, mailbox):
    url = reverse("mailaccounts:mailbox_forwarding", args=[mailbox.pk])
    for address in HOSTILE_ADDRESSES:
        owner_client.post(url, {"forward_to": address, "keep_copy": "on"})
        mailbox.refresh_from_db()
        assert mailbox.forward_to == [], address
    owner_client.post(url, {"forward_to": "boekhouder@example.org", "keep_copy": "on"})
    mailbox.refresh_from_db()
    assert mailbox.forward_to == ["boekhouder@example.org"]
    config = render_mail_accounts(mailbox.domain.mailhost)
    assert any(b"boekhouder@example.org" in file.content for file in config.files.values())


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES[:8])
def test_an_alias_destination_the_mail_host_cannot_take_is_refused(owner_client, domain, address):
    response = owner_client.post(
        reverse("mailaccounts:alias_add"),
        {"local_part": "info", "domain": domain.pk, "destinations": address},
    )
    assert response.context["form"].errors and not Alias.objects.exists()


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES[:8])
def test_sign_up_refuses_what_the_rule_refuses(client, db, address):
    client.post(
        "/accounts/signup/",
        {"email": address, "password1": "Zeer-Lang-Wachtwoord-9", "password2": "Zeer-Lang-Wachtwoord-9"},
    )
    assert not User.objects.exists()


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES[:8])
def test_invitations_refuse_what_the_rule_refuses(owner_client, customer, address):
    owner_client.post("/team/invite/", {"email": address, "role": "member"})
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES[:8])
def test_the_reporting_address_refuses_what_the_rule_refuses(owner_client, domain, address):
    owner_client.post(
        reverse("mailaccounts:dmarc_settings", args=[domain.pk]),
        {"dmarc_policy": "none", "dmarc_report_email": address, "mta_sts_mode": "testing"},
    )
    assert not DomainDnsSettings.objects.filter(domain=domain).exclude(dmarc_report_email="").exists()


def test_staff_admin_forms_use_the_rule(db):
    """The admin's forms (and its inlines) are model forms: the rule is on the model fields."""
    from django.forms import modelform_factory

    for model, field_name in [
        (Customer, "billing_email"),
        (User, "email"),
        (Invitation, "email"),
        (DomainDnsSettings, "dmarc_report_email"),
    ]:
        form_class = modelform_factory(model, fields=[field_name])
        form = form_class(data={field_name: '"a;p=none"@example.com'})
        assert field_name in form.errors and "quotes" in str(form.errors[field_name]), model


def test_mailbox_forwards_on_the_own_domain_still_work(owner_client, mailbox, make_mailbox):
    other = make_mailbox("piet")
    owner_client.post(
        reverse("mailaccounts:mailbox_forwarding", args=[mailbox.pk]), {"forward_to": other.address}
    )
    mailbox.refresh_from_db()
    assert mailbox.forward_to == [other.address]
    assert Mailbox.objects.count() == 2
