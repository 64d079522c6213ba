"""The customer's pages: access, the happy paths, hostile form input, and lists that scale."""

import pytest
from django.urls import reverse
from django.utils import timezone

from mailaccounts import passwords
from mailaccounts.models import Alias, Autoresponder, Domain, Mailbox
from mailaccounts.services import aliases, storage
from mailhosts.models import MailHost
from tenants.models import AuditEntry

from .conftest import MAILBOX_PASSWORD

MB = storage.MB

OBJECT_URLS = [
    ("mailaccounts:mailbox_detail", "mailbox"),
    ("mailaccounts:mailbox_edit", "mailbox"),
    ("mailaccounts:mailbox_password", "mailbox"),
    ("mailaccounts:mailbox_delete", "mailbox"),
    ("mailaccounts:autoresponder", "mailbox"),
    ("mailaccounts:alias_edit", "alias"),
    ("mailaccounts:alias_delete", "alias"),
    ("mailaccounts:domain_routing", "domain"),
]
POST_ONLY_URLS = [("mailaccounts:mailbox_restore", "mailbox"), ("mailaccounts:mailbox_forwarding", "mailbox")]
LIST_URLS = [
    "mailaccounts:mailbox_list",
    "mailaccounts:mailbox_add",
    "mailaccounts:alias_list",
    "mailaccounts:alias_add",
]


@pytest.fixture
def alias(customer, domain, mailbox):
    from tenants.audit import Actor

    return aliases.create_alias(
        actor=Actor.system(),
        customer=customer,
        domain=domain,
        local_part="info",
        destinations=[mailbox.address],
    )


@pytest.fixture
def objects(mailbox, alias, domain):
    return {"mailbox": mailbox, "alias": alias, "domain": domain}


# Access -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, kind", OBJECT_URLS + POST_ONLY_URLS)
def test_anonymous_visitor_is_sent_to_login(client, objects, name, kind):
    response = client.get(reverse(name, args=[objects[kind].pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("name", LIST_URLS)
def test_anonymous_visitor_is_sent_to_login_from_lists(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("name, kind", OBJECT_URLS)
def test_outsider_gets_404_on_another_customers_objects(outsider_client, objects, name, kind):
    assert outsider_client.get(reverse(name, args=[objects[kind].pk])).status_code == 404
    assert outsider_client.post(reverse(name, args=[objects[kind].pk]), {}).status_code == 404


@pytest.mark.parametrize("name, kind", POST_ONLY_URLS)
def test_outsider_cannot_post_to_another_customers_objects(outsider_client, objects, name, kind):
    assert outsider_client.post(reverse(name, args=[objects[kind].pk]), {}).status_code == 404


def test_outsider_lists_do_not_show_other_customers(outsider_client, objects):
    assert b"jan@bakkerij.example" not in outsider_client.get(reverse("mailaccounts:mailbox_list")).content
    assert b"info@bakkerij.example" not in outsider_client.get(reverse("mailaccounts:alias_list")).content


@pytest.mark.parametrize("name, kind", OBJECT_URLS)
def test_owner_sees_every_page(owner_client, objects, name, kind):
    assert owner_client.get(reverse(name, args=[objects[kind].pk])).status_code == 200


def test_member_manages_mailboxes_but_not_domain_routing(member_client, objects):
    assert member_client.get(reverse("mailaccounts:mailbox_add")).status_code == 200
    assert (
        member_client.get(reverse("mailaccounts:domain_routing", args=[objects["domain"].pk])).status_code
        == 403
    )


# Mailboxes ---------------------------------------------------------------------------------------------


def add_mailbox(client, own_domain, **overrides):
    data = {
        "local_part": "kees",
        "domain": own_domain.pk,
        "display_name": "Kees",
        "quota_mb": 500,
        "password_mode": "generate",
        "password1": "",
        "password2": "",
    } | overrides
    return client.post(reverse("mailaccounts:mailbox_add"), data)


def test_form_suggests_a_quota_and_shows_what_is_left(owner_client, domain):
    response = owner_client.get(reverse("mailaccounts:mailbox_add"))
    form = response.context["form"]
    assert form.fields["quota_mb"].initial == 1000  # 1 GB in decimal MB, as the product page sells it
    assert "5000 MB" in form.fields["quota_mb"].help_text


def test_create_with_generated_password_shows_it_once(owner_client, domain):
    response = add_mailbox(owner_client, domain)
    mailbox = Mailbox.objects.get()
    assert response["Location"] == reverse("mailaccounts:mailbox_detail", args=[mailbox.pk])
    page = owner_client.get(response["Location"])
    password = page.context["new_password"]
    assert password and password in page.content.decode()
    assert passwords.verify_password(password, mailbox.password_hash)
    again = owner_client.get(response["Location"])
    assert again.context["new_password"] is None and password not in again.content.decode()
    assert b"Busy" in page.content  # on its way to the mail servers


def test_create_with_chosen_password(owner_client, domain):
    response = add_mailbox(
        owner_client, domain, password_mode="choose", password1=MAILBOX_PASSWORD, password2=MAILBOX_PASSWORD
    )
    assert response.status_code == 302
    mailbox = Mailbox.objects.get()
    assert passwords.verify_password(MAILBOX_PASSWORD, mailbox.password_hash)
    assert owner_client.get(response["Location"]).context["new_password"] is None


HOSTILE_MAILBOX_INPUT = [
    ({"local_part": ""}, "local_part"),
    ({"local_part": "a" * 65}, "local_part"),
    ({"local_part": "a" * 5000}, "local_part"),
    ({"local_part": "jan piet"}, "local_part"),
    ({"local_part": "<script>alert(1)</script>"}, "local_part"),
    ({"local_part": "jаn"}, "local_part"),  # Cyrillic а
    ({"local_part": "postmaster"}, "local_part"),
    ({"local_part": "jan\x00"}, "local_part"),
    ({"local_part": "../../etc/passwd"}, "local_part"),
    ({"domain": ""}, "domain"),
    ({"domain": "999999"}, "domain"),
    ({"domain": "abc"}, "domain"),
    ({"quota_mb": ""}, "quota_mb"),
    ({"quota_mb": "0"}, "quota_mb"),
    ({"quota_mb": "-100"}, "quota_mb"),
    ({"quota_mb": "5121"}, "quota_mb"),
    ({"quota_mb": "99999999999999999999"}, "quota_mb"),
    ({"quota_mb": "1e3"}, "quota_mb"),
    ({"quota_mb": "５００"}, "quota_mb"),  # full-width digits
    ({"display_name": "x" * 121}, "display_name"),
    (
        {
            "password_mode": "choose",
            "password1": "kees@bakkerij.example",
            "password2": "kees@bakkerij.example",
        },
        "password1",
    ),
    ({"password_mode": "choose", "password1": "Kees-Bakker-99", "password2": "Kees-Bakker-99"}, "password1"),
    ({"password_mode": "choose", "password1": "short", "password2": "short"}, "password1"),
    ({"password_mode": "choose", "password1": MAILBOX_PASSWORD, "password2": "other"}, "password2"),
    ({"password_mode": "choose", "password1": "", "password2": ""}, "password1"),
    ({"password_mode": "plaintext"}, "password_mode"),
]


@pytest.mark.parametrize("overrides, field", HOSTILE_MAILBOX_INPUT)
def test_hostile_mailbox_input_gets_a_form_error_and_saves_nothing(owner_client, domain, overrides, field):
    response = add_mailbox(owner_client, domain, **overrides)
    assert response.status_code == 200
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert not Mailbox.objects.exists()


def test_mailbox_on_another_customers_domain_is_refused(owner_client, domain, other_domain):
    response = add_mailbox(owner_client, domain, domain=other_domain.pk)
    assert response.context["form"].errors["domain"]
    assert not Mailbox.objects.exists()


def test_quota_refusal_says_what_fits(owner_client, domain, make_mailbox):
    make_mailbox("a", quota_bytes=4500 * MB)
    response = add_mailbox(owner_client, domain, quota_mb=600)
    assert "at most 500 MB is left" in str(response.context["form"].errors["quota_mb"])


def test_edit_changes_quota_and_disables(owner_client, mailbox):
    response = owner_client.post(
        reverse("mailaccounts:mailbox_edit", args=[mailbox.pk]),
        {"display_name": "Jan", "quota_mb": 200, "is_enabled": ""},
    )
    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.quota_bytes, mailbox.is_enabled) == (200 * MB, False)


@pytest.mark.parametrize("quota", ["0", "-1", "999999", "", "abc"])
def test_edit_refuses_bad_quota(owner_client, mailbox, quota):
    response = owner_client.post(
        reverse("mailaccounts:mailbox_edit", args=[mailbox.pk]),
        {"display_name": "", "quota_mb": quota, "is_enabled": "on"},
    )
    assert response.status_code == 200 and response.context["form"].errors["quota_mb"]
    mailbox.refresh_from_db()
    assert mailbox.quota_bytes == 100 * MB


def test_password_change_generated_and_chosen(owner_client, mailbox):
    url = reverse("mailaccounts:mailbox_password", args=[mailbox.pk])
    response = owner_client.post(url, {"password_mode": "generate"})
    generated = owner_client.get(response["Location"]).context["new_password"]
    mailbox.refresh_from_db()
    assert passwords.verify_password(generated, mailbox.password_hash)
    refused = owner_client.post(
        url,
        {"password_mode": "choose", "password1": "jan@bakkerij.example", "password2": "jan@bakkerij.example"},
    )
    assert refused.status_code == 200 and refused.context["form"].errors["password1"]
    mailbox.refresh_from_db()
    assert passwords.verify_password(generated, mailbox.password_hash)


def test_forwarding_form(owner_client, mailbox, other_domain):
    url = reverse("mailaccounts:mailbox_forwarding", args=[mailbox.pk])
    assert owner_client.get(url).status_code == 405
    ok = owner_client.post(url, {"forward_to": "jan@thuis.example\n", "keep_copy": ""})
    assert ok.status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.forward_to == ["jan@thuis.example"] and not mailbox.forward_keep_copy
    for hostile in [
        "not an address",
        "piet@concurrent.example",
        "jan@bakkerij.example",
        "x" * 20000,
        "jаn@example.org",
    ]:
        refused = owner_client.post(url, {"forward_to": hostile, "keep_copy": "on"})
        assert refused.status_code == 200 and refused.context["forwarding_form"].errors["forward_to"]
    mailbox.refresh_from_db()
    assert mailbox.forward_to == ["jan@thuis.example"]


def test_delete_asks_then_disables_and_restore_brings_back(owner_client, mailbox):
    url = reverse("mailaccounts:mailbox_delete", args=[mailbox.pk])
    confirm = owner_client.get(url).content.decode()
    assert "30 days" in confirm and "receives postmaster@, abuse@ or catch-all mail" in confirm
    deleted = owner_client.post(url, follow=True).content.decode()
    assert "choose another" in deleted
    mailbox.refresh_from_db()
    assert mailbox.deleted_at and not mailbox.is_enabled
    listed = owner_client.get(reverse("mailaccounts:mailbox_list") + "?show=deleted")
    assert mailbox in listed.context["page"].object_list
    assert mailbox not in owner_client.get(reverse("mailaccounts:mailbox_list")).context["page"].object_list
    assert owner_client.get(reverse("mailaccounts:mailbox_edit", args=[mailbox.pk])).status_code == 404
    assert owner_client.post(reverse("mailaccounts:mailbox_restore", args=[mailbox.pk])).status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.deleted_at is None and mailbox.is_enabled


def test_restore_that_does_not_fit_shows_a_message(owner_client, mailbox, make_mailbox):
    owner_client.post(reverse("mailaccounts:mailbox_delete", args=[mailbox.pk]))
    make_mailbox("big", quota_bytes=5000 * MB)  # the whole plan
    response = owner_client.post(reverse("mailaccounts:mailbox_restore", args=[mailbox.pk]), follow=True)
    assert b"Restoring needs 100 MB" in response.content
    mailbox.refresh_from_db()
    assert mailbox.deleted_at is not None


# Autoresponder ----------------------------------------------------------------------------------------


def autoresponder_data(**overrides):
    return {
        "is_enabled": "on",
        "subject": "Afwezig",
        "body": "Ik ben er maandag weer.",
        "starts_at": "2026-12-20T09:00",
        "ends_at": "2027-01-04T08:00",
        "interval_days": 3,
    } | overrides


def test_autoresponder_saved_in_amsterdam_time(owner_client, mailbox):
    response = owner_client.post(
        reverse("mailaccounts:autoresponder", args=[mailbox.pk]), autoresponder_data()
    )
    assert response.status_code == 302
    saved = Autoresponder.objects.get()
    assert saved.starts_at.isoformat() == "2026-12-20T08:00:00+00:00"
    assert saved.interval_days == 3
    page = owner_client.get(reverse("mailaccounts:autoresponder", args=[mailbox.pk]))
    assert 'value="2026-12-20T09:00"' in page.content.decode()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"subject": ""}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"body": ""}, "body"),
        ({"body": "x" * 10_001}, "body"),
        ({"interval_days": "0"}, "interval_days"),
        ({"interval_days": "-3"}, "interval_days"),
        ({"interval_days": "365"}, "interval_days"),
        ({"starts_at": "gisteren"}, "starts_at"),
        ({"starts_at": "2027-01-05T09:00"}, "ends_at"),
        ({"ends_at": "9999-99-99T99:99"}, "ends_at"),
    ],
)
def test_hostile_autoresponder_input(owner_client, mailbox, overrides, field):
    response = owner_client.post(
        reverse("mailaccounts:autoresponder", args=[mailbox.pk]), autoresponder_data(**overrides)
    )
    assert response.status_code == 200 and response.context["form"].errors.get(field)
    assert not Autoresponder.objects.exists()


def test_autoresponder_accepts_hostile_text_verbatim(owner_client, mailbox):
    body = '"; discard; #\r\n\\ \u202e 😀 ' + "x" * 9_980
    response = owner_client.post(
        reverse("mailaccounts:autoresponder", args=[mailbox.pk]),
        autoresponder_data(body=body, subject='Weg "nu"'),
    )
    assert response.status_code == 302
    saved = Autoresponder.objects.get()
    assert saved.body == body.replace("\r\n", "\n") and len(saved.body) == 10_000


# Aliases ----------------------------------------------------------------------------------------------


def test_alias_create_edit_delete(owner_client, domain, mailbox):
    response = owner_client.post(
        reverse("mailaccounts:alias_add"),
        {
            "local_part": "Verkoop",
            "domain": domain.pk,
            "destinations": "jan@bakkerij.example\nboekhouder@example.org",
            "is_enabled": "on",
        },
    )
    assert response.status_code == 302
    alias = Alias.objects.get()
    listed = owner_client.get(reverse("mailaccounts:alias_list")).content.decode()
    assert f'href="{reverse("mailaccounts:alias_edit", args=[alias.pk])}"' in listed
    assert f'href="{reverse("mailaccounts:alias_delete", args=[alias.pk])}"' in listed
    assert alias.address == "verkoop@bakkerij.example"
    assert alias.destinations == ["jan@bakkerij.example", "boekhouder@example.org"]
    edit = owner_client.post(
        reverse("mailaccounts:alias_edit", args=[alias.pk]),
        {"destinations": "jan@bakkerij.example", "is_enabled": ""},
    )
    assert edit.status_code == 302
    alias.refresh_from_db()
    assert alias.destinations == ["jan@bakkerij.example"] and not alias.is_enabled
    assert owner_client.post(reverse("mailaccounts:alias_delete", args=[alias.pk])).status_code == 302
    assert not Alias.objects.exists()
    assert list(AuditEntry.objects.filter(action__startswith="alias.").values_list("action", flat=True)) == [
        "alias.delete",
        "alias.update",
        "alias.create",
    ]


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"local_part": ""}, "local_part"),
        ({"local_part": "x" * 65}, "local_part"),
        ({"local_part": "ïnfo"}, "local_part"),
        ({"local_part": "abuse"}, "local_part"),
        ({"local_part": "jan"}, "local_part"),
        ({"destinations": ""}, "destinations"),
        ({"destinations": "piet@concurrent.example"}, "destinations"),
        ({"destinations": "onbekend@bakkerij.example"}, "destinations"),
        ({"destinations": "info@bakkerij.example"}, "destinations"),
        ({"destinations": "a@b"}, "destinations"),
        ({"destinations": "\n".join(f"x{i}@example.org" for i in range(51))}, "destinations"),
        ({"domain": "0"}, "domain"),
    ],
)
def test_hostile_alias_input(owner_client, domain, other_domain, mailbox, overrides, field):
    data = {
        "local_part": "info",
        "domain": domain.pk,
        "destinations": "jan@bakkerij.example",
        "is_enabled": "on",
    } | overrides
    response = owner_client.post(reverse("mailaccounts:alias_add"), data)
    assert response.status_code == 200 and response.context["form"].errors.get(field), response.context[
        "form"
    ].errors
    assert not Alias.objects.exists()


def test_alias_on_other_customers_domain_refused(owner_client, domain, other_domain, mailbox):
    data = {"local_part": "info", "domain": other_domain.pk, "destinations": "jan@bakkerij.example"}
    response = owner_client.post(reverse("mailaccounts:alias_add"), data)
    assert response.context["form"].errors["domain"]


# Domain routing ---------------------------------------------------------------------------------------


def test_routing_page_sets_catch_all_and_role_addresses(owner_client, domain, make_mailbox):
    jan, kees = make_mailbox("jan"), make_mailbox("kees")
    url = reverse("mailaccounts:domain_routing", args=[domain.pk])
    page = owner_client.get(url)
    assert b"spam" in page.content
    response = owner_client.post(
        url,
        {"postmaster_to": kees.pk, "abuse_to": jan.pk, "catch_all_enabled": "on", "catch_all_to": kees.pk},
    )
    assert response.status_code == 302
    domain.refresh_from_db()
    assert (domain.postmaster_to, domain.abuse_to, domain.catch_all_to) == (kees, jan, kees)
    owner_client.post(url, {"postmaster_to": kees.pk, "abuse_to": jan.pk, "catch_all_to": kees.pk})
    domain.refresh_from_db()
    assert domain.catch_all_to is None


def test_routing_refuses_other_customers_mailbox_and_missing_choices(
    owner_client, domain, mailbox, other_mailbox
):
    url = reverse("mailaccounts:domain_routing", args=[domain.pk])
    for data in [
        {"postmaster_to": other_mailbox.pk, "abuse_to": mailbox.pk},
        {"postmaster_to": "", "abuse_to": mailbox.pk},
        {"postmaster_to": mailbox.pk, "abuse_to": mailbox.pk, "catch_all_enabled": "on"},
        {"postmaster_to": "x", "abuse_to": "-1"},
    ]:
        response = owner_client.post(url, data)
        assert response.status_code == 200 and response.context["form"].errors
    domain.refresh_from_db()
    assert domain.postmaster_to == mailbox and domain.catch_all_to is None


# Lists that scale -------------------------------------------------------------------------------------


def seed_mailboxes(customer, domain, count):
    Mailbox.objects.bulk_create(
        Mailbox(
            customer=customer,
            domain=domain,
            local_part=f"user{i:04d}",
            password_hash="{SHA512-CRYPT}x",
            quota_bytes=(i % 7 + 1) * MB,
            used_bytes=i,
        )
        for i in range(count)
    )
    Alias.objects.bulk_create(
        Alias(customer=customer, domain=domain, local_part=f"alias{i:04d}", destinations=["x@example.org"])
        for i in range(count)
    )


@pytest.mark.parametrize("url", ["mailaccounts:mailbox_list", "mailaccounts:alias_list"])
@pytest.mark.parametrize(
    "params",
    ["", "?sort=-quota", "?sort=usage&page=2", "?q=user00", "?sort=created&q=bakkerij", "?show=deleted"],
)
def test_list_query_count_is_the_same_at_10_and_500(
    owner_client, customer, domain, django_assert_num_queries, url, params
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    seed_mailboxes(customer, domain, 10)
    owner_client.get(reverse(url))  # warm the session and the mail host
    with CaptureQueriesContext(connection) as small:
        assert owner_client.get(reverse(url) + params).status_code == 200
    Mailbox.objects.all().delete()
    Alias.objects.all().delete()
    seed_mailboxes(customer, domain, 500)
    with django_assert_num_queries(len(small.captured_queries)):
        response = owner_client.get(reverse(url) + params)
    assert response.status_code == 200


def test_list_is_paginated_searchable_and_sortable(owner_client, customer, domain):
    seed_mailboxes(customer, domain, 120)
    page = owner_client.get(reverse("mailaccounts:mailbox_list")).context["page"]
    assert page.paginator.count == 120 and len(page.object_list) == 50
    assert page.object_list[0].local_part == "user0000"
    by_quota = owner_client.get(reverse("mailaccounts:mailbox_list") + "?sort=-quota").context["page"]
    assert by_quota.object_list[0].quota_bytes == 7 * MB
    found = owner_client.get(reverse("mailaccounts:mailbox_list") + "?q=user011").context["page"]
    assert [m.local_part for m in found.object_list] == [f"user011{i}" for i in range(10)]
    exact = owner_client.get(reverse("mailaccounts:mailbox_list") + "?q=user0042@bakkerij").context["page"]
    assert [m.local_part for m in exact.object_list] == ["user0042"]
    second = owner_client.get(reverse("mailaccounts:mailbox_list") + "?page=3&sort=-usage")
    assert second.context["page"].number == 3 and b"Active" in second.content or b"Busy" in second.content
    junk = owner_client.get(
        reverse("mailaccounts:mailbox_list") + "?page=abc&sort=password_hash&q=" + "%00" * 3
    )
    assert junk.status_code == 200 and junk.context["sort"] == "address"


def test_list_shows_live_state_and_usage(owner_client, mailbox):
    Mailbox.objects.filter(pk=mailbox.pk).update(used_bytes=50 * MB, usage_measured_at=timezone.now())
    MailHost.objects.update(applied_revision=10**6)
    content = owner_client.get(reverse("mailaccounts:mailbox_list")).content.decode().replace("\xa0", " ")
    assert "Active" in content and "50 MB" in content and "(50%)" in content
    assert f'href="{reverse("mailaccounts:mailbox_detail", args=[mailbox.pk])}"' in content
    detail = (
        owner_client.get(reverse("mailaccounts:mailbox_detail", args=[mailbox.pk]))
        .content.decode()
        .replace("\xa0", " ")
    )
    assert "Measured at" in detail and "50 MB of 100 MB used" in detail


def test_unverified_domain_is_not_offered(owner_client, customer, domain):
    Domain.objects.create(
        customer=customer, name="nieuw.example", mailhost=MailHost.objects.default(), verification_token="t"
    )
    form = owner_client.get(reverse("mailaccounts:mailbox_add")).context["form"]
    assert [d.name for d in form.fields["domain"].queryset] == ["bakkerij.example"]


JUNK = [
    "",
    "\x00",
    "x" * 100_000,
    "<script>alert(1)</script>",
    "'; DROP TABLE mailaccounts_mailbox; --",
    "１２３",
    "-1",
    "🏖️" * 300,
]


@pytest.mark.parametrize("junk", JUNK)
def test_junk_in_every_field_of_every_form_never_breaks(owner_client, objects, junk):
    """Every field of every form gets the same junk: a page with errors (or a refusal), never a 500."""
    mailbox, alias, domain = objects["mailbox"], objects["alias"], objects["domain"]
    forms = {
        reverse("mailaccounts:mailbox_add"): [
            "local_part",
            "domain",
            "display_name",
            "quota_mb",
            "password_mode",
            "password1",
            "password2",
        ],
        reverse("mailaccounts:mailbox_edit", args=[mailbox.pk]): ["display_name", "quota_mb", "is_enabled"],
        reverse("mailaccounts:mailbox_password", args=[mailbox.pk]): [
            "password_mode",
            "password1",
            "password2",
        ],
        reverse("mailaccounts:mailbox_forwarding", args=[mailbox.pk]): ["forward_to", "keep_copy"],
        reverse("mailaccounts:autoresponder", args=[mailbox.pk]): [
            "is_enabled",
            "subject",
            "body",
            "starts_at",
            "ends_at",
            "interval_days",
        ],
        reverse("mailaccounts:alias_add"): ["local_part", "domain", "destinations", "is_enabled"],
        reverse("mailaccounts:alias_edit", args=[alias.pk]): ["destinations", "is_enabled"],
        reverse("mailaccounts:domain_routing", args=[domain.pk]): [
            "postmaster_to",
            "abuse_to",
            "catch_all_enabled",
            "catch_all_to",
        ],
        reverse("mailaccounts:mailbox_list"): ["q", "sort", "page", "show"],
        reverse("mailaccounts:alias_list"): ["q", "sort", "page"],
    }
    before = (
        list(Mailbox.objects.values()),
        list(Alias.objects.values()),
        list(Domain.objects.values()),
        Autoresponder.objects.count(),
    )
    if junk == "":
        del forms[
            reverse("mailaccounts:mailbox_forwarding", args=[mailbox.pk])
        ]  # empty means "stop forwarding"
    for url, fields in forms.items():
        data = dict.fromkeys(fields, junk)
        response = (
            owner_client.get(url, data)
            if url.endswith(("/mailboxes/", "/aliases/"))
            else owner_client.post(url, data)
        )
        assert response.status_code == 200, (url, response.status_code)
    after = (
        list(Mailbox.objects.values()),
        list(Alias.objects.values()),
        list(Domain.objects.values()),
        Autoresponder.objects.count(),
    )
    assert after == before


def test_suspended_customer_can_look_but_not_change(owner_client, customer, domain, mailbox):
    from tenants.models import Customer

    Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.SUSPENDED)
    assert owner_client.get(reverse("mailaccounts:mailbox_list")).status_code == 200
    add_mailbox(owner_client, domain)
    owner_client.post(reverse("mailaccounts:mailbox_delete", args=[mailbox.pk]))
    assert list(Mailbox.objects.values_list("local_part", "deleted_at")) == [("jan", None)]


def test_a_generated_password_never_rests_in_the_session_store_in_the_clear(
    owner_client, domain, monkeypatch
):
    """Between the form and the page that shows it, the password waits in the session sealed (encrypted,
    readable for ten minutes); after that it is gone rather than shown."""
    from django.contrib.sessions.models import Session

    import mailaccounts.crypto

    response = add_mailbox(owner_client, domain)
    stored = " ".join(Session.objects.values_list("session_data", flat=True))
    decoded = str(dict(owner_client.session))
    page = owner_client.get(response["Location"])
    password = page.context["new_password"]
    assert password and password not in stored and password not in decoded

    mailbox = Mailbox.objects.get()
    changed = owner_client.post(
        reverse("mailaccounts:mailbox_password", args=[mailbox.pk]), {"password_mode": "generate"}
    )
    monkeypatch.setattr(mailaccounts.crypto, "SEALED_SECONDS", -1)  # as if ten minutes had passed
    late = owner_client.get(changed["Location"])
    assert late.context["new_password"] is None
