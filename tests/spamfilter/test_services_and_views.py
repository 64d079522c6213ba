import pytest
from django.urls import reverse

from mailhosts.models import MailHost
from spamfilter import services
from spamfilter.models import DomainSpamPolicy, MailboxSpamPolicy, SenderListEntry
from tenants.audit import Actor
from tenants.models import AuditEntry

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


def test_a_settings_change_is_audited_and_pending_until_the_host_applied_it(
    owner_client, domain, django_capture_on_commit_callbacks
):
    host = MailHost.objects.default()
    before = host.desired_revision
    response = owner_client.post(
        reverse("spamfilter:domain", args=[domain.pk]),
        {"is_enabled": "on", "sensitivity": "relaxed", "reject_score": "20"},
    )
    assert response.status_code == 302
    policy = DomainSpamPolicy.objects.get(domain=domain)
    assert (policy.sensitivity, policy.reject_score) == ("relaxed", 20)
    host.refresh_from_db()
    assert policy.revision == host.desired_revision == before + 1
    assert AuditEntry.objects.filter(action="domainspampolicy.update", customer=domain.customer).exists()


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"is_enabled": "on", "sensitivity": "relaxed", "reject_score": "9"},
            "refuse only from a higher score",
        ),
        ({"is_enabled": "on", "sensitivity": "normal", "reject_score": "2"}, "greater than or equal to 5"),
        ({"is_enabled": "on", "sensitivity": "normal", "reject_score": "１５"}, "Enter a whole number"),
        ({"is_enabled": "on", "sensitivity": "paranoid", "reject_score": "15"}, "Select a valid choice"),
    ],
)
def test_bad_settings_are_refused_with_a_message_and_nothing_changes(owner_client, domain, data, message):
    response = owner_client.post(reverse("spamfilter:domain", args=[domain.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not DomainSpamPolicy.objects.exists()


def test_the_domain_page_in_dutch_explains_sensitivity_in_plain_words(owner_client, domain, settings):
    owner_client.cookies["django_language"] = "nl"
    page = owner_client.get(
        reverse("spamfilter:domain", args=[domain.pk]), HTTP_ACCEPT_LANGUAGE="nl"
    ).content.decode()
    assert "Gevoeligheid" in page
    assert "Waarschijnlijke spam gaat naar de map Junk" in page


def test_hostile_list_entries_are_refused_and_nothing_is_saved(owner_client, domain):
    response = owner_client.post(
        reverse("spamfilter:domain_list_add", args=[domain.pk]),
        {"kind": "block", "entries": "goed@example.nl\n/.*/@x.nl\n*@x.nl"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "/.*/@x.nl" in page and "*@x.nl" in page
    assert "goed@example.nl" in page  # what was typed is kept
    assert not SenderListEntry.objects.exists()
    assert not DomainSpamPolicy.objects.exists()


def test_an_entry_on_one_list_cannot_be_added_to_the_other(domain, mailbox):
    services.add_list_entries(actor=SYSTEM, domain=domain, mailbox=mailbox, kind="allow", text="@x.example")
    with pytest.raises(services.ValidationError) as error:
        services.add_list_entries(
            actor=SYSTEM, domain=domain, mailbox=mailbox, kind="block", text="@X.example"
        )
    assert "already on the allow list" in error.value.messages[0]
    assert SenderListEntry.objects.count() == 1


def test_a_list_holds_at_most_a_thousand_entries(domain, settings, monkeypatch):
    monkeypatch.setattr(services, "MAX_ENTRIES", 3)
    services.add_list_entries(actor=SYSTEM, domain=domain, kind="block", text="a@x.example\nb@x.example")
    with pytest.raises(services.ValidationError):
        services.add_list_entries(actor=SYSTEM, domain=domain, kind="block", text="c@x.example\nd@x.example")
    assert SenderListEntry.objects.count() == 2


def test_list_entries_are_added_and_removed_from_the_mailbox_page(owner_client, mailbox):
    url = reverse("spamfilter:mailbox_list_add", args=[mailbox.pk])
    response = owner_client.post(url, {"kind": "allow", "entries": "Vriend@Bäckerei.example"})
    assert response.status_code == 302
    entry = SenderListEntry.objects.get()
    assert (entry.mailbox, entry.value) == (mailbox, "vriend@xn--bckerei-5wa.example")
    page = owner_client.get(reverse("spamfilter:mailbox", args=[mailbox.pk])).content.decode()
    assert "vriend@bäckerei.example" in page
    owner_client.post(reverse("spamfilter:mailbox_list_remove", args=[mailbox.pk, entry.pk]))
    assert not SenderListEntry.objects.exists()
    assert MailboxSpamPolicy.objects.get(mailbox=mailbox).revision > 0


def test_a_mailbox_inherits_until_it_chooses_settings_of_its_own(owner_client, mailbox):
    url = reverse("spamfilter:mailbox", args=[mailbox.pk])
    response = owner_client.post(url, {"inherits": "True", "junk_days": "14"})
    assert response.status_code == 302
    policy = MailboxSpamPolicy.objects.get(mailbox=mailbox)
    assert (policy.inherits, policy.junk_days) == (True, 14)
    response = owner_client.post(
        url, {"inherits": "False", "sensitivity": "strict", "reject_score": "10", "junk_days": "14"}
    )
    policy.refresh_from_db()
    assert (policy.inherits, policy.is_enabled, policy.sensitivity, policy.reject_score) == (
        False,
        False,
        "strict",
        10,
    )


def test_another_customers_domain_and_mailbox_are_not_found(owner_client, other_domain, other_mailbox):
    for url in [
        reverse("spamfilter:domain", args=[other_domain.pk]),
        reverse("spamfilter:mailbox", args=[other_mailbox.pk]),
    ]:
        assert owner_client.get(url).status_code == 404
    response = owner_client.post(
        reverse("spamfilter:domain_list_add", args=[other_domain.pk]),
        {"kind": "block", "entries": "a@b.example"},
    )
    assert response.status_code == 404
    entry = services.add_list_entries(actor=SYSTEM, domain=other_domain, kind="block", text="a@b.example")[0]
    assert (
        owner_client.post(
            reverse("spamfilter:domain_list_remove", args=[other_domain.pk, entry.pk])
        ).status_code
        == 404
    )
    assert SenderListEntry.objects.count() == 1


def test_members_manage_the_filter_and_the_billing_role_does_not(member_client, billing_client, domain):
    url = reverse("spamfilter:domain", args=[domain.pk])
    assert member_client.get(url).status_code == 200
    assert billing_client.get(url).status_code == 403
    assert billing_client.get(reverse("spamfilter:overview")).status_code == 403


def test_the_mailbox_and_domain_pages_show_the_filter_and_link_to_its_settings(owner_client, domain, mailbox):
    page = owner_client.get(reverse("mailaccounts:mailbox_detail", args=[mailbox.pk])).content.decode()
    assert reverse("spamfilter:mailbox", args=[mailbox.pk]) in page
    assert 'data-count="junk"' in page
    page = owner_client.get(reverse("mailaccounts:domain_detail", args=[domain.pk])).content.decode()
    assert reverse("spamfilter:domain", args=[domain.pk]) in page
    overview = owner_client.get(reverse("spamfilter:overview")).content.decode()
    assert reverse("spamfilter:domain", args=[domain.pk]) in overview


def test_list_entries_are_added_and_removed_from_the_domain_page(owner_client, domain):
    url = reverse("spamfilter:domain_list_add", args=[domain.pk])
    response = owner_client.post(url, {"kind": "block", "entries": "@Reclame.example\nspam@x.example"})
    assert response.status_code == 302
    assert response.url == reverse("spamfilter:domain", args=[domain.pk])
    entries = list(SenderListEntry.objects.order_by("value"))
    assert [(e.mailbox, e.kind, e.value) for e in entries] == [
        (None, "block", "@reclame.example"),
        (None, "block", "spam@x.example"),
    ]
    response = owner_client.post(reverse("spamfilter:domain_list_remove", args=[domain.pk, entries[0].pk]))
    assert response.url == reverse("spamfilter:domain", args=[domain.pk])
    assert list(SenderListEntry.objects.values_list("value", flat=True)) == ["spam@x.example"]
    assert DomainSpamPolicy.objects.get(domain=domain).revision > 0


def test_a_refused_entry_on_the_mailbox_page_shows_the_message_and_what_was_typed(owner_client, mailbox):
    url = reverse("spamfilter:mailbox_list_add", args=[mailbox.pk])
    response = owner_client.post(url, {"kind": "block", "entries": "goed@example.nl\nfout@@x.nl"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "fout@@x.nl" in page and "is not an address or @domain" in page
    assert mailbox.unicode_address in page  # the mailbox's page, not the domain's
    assert not SenderListEntry.objects.exists()
    assert not MailboxSpamPolicy.objects.filter(mailbox=mailbox).exists()


def test_an_entry_of_the_domains_list_cannot_be_removed_through_a_mailbox(owner_client, domain, mailbox):
    entry = services.add_list_entries(actor=SYSTEM, domain=domain, kind="block", text="a@b.example")[0]
    response = owner_client.post(reverse("spamfilter:mailbox_list_remove", args=[mailbox.pk, entry.pk]))
    assert response.status_code == 404
    assert SenderListEntry.objects.count() == 1
