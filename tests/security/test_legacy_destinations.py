"""Issue 15, point 8, for rows stored before the address rule: a forward or alias destination the mail host
cannot take (`"q:x"@example.com`, `x@[127.0.0.1]`) is never lost silently. The renderer leaves it out, and the
customer (forwarding card, alias page, both lists, dashboard) and staff (admin list, `manage.py check
--database default`) are told that it is not applied."""

import logging

import pytest
from django.core import checks
from django.urls import reverse

from mailaccounts.models import Alias, Mailbox
from mailaccounts.rendering import render_mail_accounts

LEGACY = ['"q:x"@example.com', "x@[127.0.0.1]"]


@pytest.fixture
def legacy_forward(mailbox):
    """A forward saved before the rule existed: written to the row as the old form did."""
    Mailbox.objects.filter(pk=mailbox.pk).update(forward_to=[*LEGACY, "boekhouder@example.org"])
    mailbox.refresh_from_db()
    return mailbox


@pytest.fixture
def legacy_alias(customer, domain):
    return Alias.objects.create(customer=customer, domain=domain, local_part="oud", destinations=LEGACY)


def not_applied_notice(html: str) -> bool:
    return "data-not-applied" in html and all(address.replace('"', "&quot;") in html for address in LEGACY)


def test_the_renderer_leaves_them_out_and_says_so_in_its_log(legacy_forward, legacy_alias, caplog):
    with caplog.at_level(logging.WARNING, logger="mailaccounts.rendering"):
        config = render_mail_accounts(legacy_forward.domain.mailhost)
    content = b"".join(file.content for file in config.files.values())
    assert b"boekhouder@example.org" in content and b"127.0.0.1]" not in content and b'"q:x"' not in content
    assert legacy_forward.address in caplog.text and legacy_alias.address in caplog.text


def test_the_mailbox_page_and_list_show_the_forward_as_not_applied(owner_client, legacy_forward):
    detail = owner_client.get(reverse("mailaccounts:mailbox_detail", args=[legacy_forward.pk]))
    assert not_applied_notice(detail.content.decode())
    listing = owner_client.get(reverse("mailaccounts:mailbox_list")).content.decode()
    assert "data-not-applied" in listing and "Not applied" in listing


def test_the_alias_page_and_list_show_the_destinations_as_not_applied(owner_client, legacy_alias):
    page = owner_client.get(reverse("mailaccounts:alias_edit", args=[legacy_alias.pk]))
    assert not_applied_notice(page.content.decode())
    listing = owner_client.get(reverse("mailaccounts:alias_list")).content.decode()
    assert "data-not-applied" in listing


def test_the_dashboard_names_each_one_with_a_link(owner_client, legacy_forward, legacy_alias):
    html = owner_client.get(reverse("dashboard")).content.decode()
    for obj, url in [
        (legacy_forward, reverse("mailaccounts:mailbox_detail", args=[legacy_forward.pk])),
        (legacy_alias, reverse("mailaccounts:alias_edit", args=[legacy_alias.pk])),
    ]:
        assert f"Mail to {obj.address} is not sent on to" in html and url in html


def test_saving_it_again_refuses_the_old_destination_with_a_message(owner_client, legacy_forward):
    response = owner_client.post(
        reverse("mailaccounts:mailbox_forwarding", args=[legacy_forward.pk]),
        {"forward_to": "\n".join(legacy_forward.forward_to), "keep_copy": "on"},
    )
    assert "quotes before the @" in response.content.decode()
    owner_client.post(
        reverse("mailaccounts:mailbox_forwarding", args=[legacy_forward.pk]),
        {"forward_to": "boekhouder@example.org", "keep_copy": "on"},
    )
    legacy_forward.refresh_from_db()
    assert legacy_forward.undeliverable_forwards == []
    page = owner_client.get(reverse("mailaccounts:mailbox_detail", args=[legacy_forward.pk]))
    assert "data-not-applied" not in page.content.decode()


def test_staff_see_them_in_the_admin_and_in_the_data_check(staff_client, legacy_forward, legacy_alias):
    assert "&quot;q:x&quot;@example.com" in staff_client.get("/admin/mailaccounts/mailbox/").content.decode()
    assert "x@[127.0.0.1]" in staff_client.get("/admin/mailaccounts/alias/").content.decode()
    warnings = checks.run_checks(tags=[checks.Tags.database], databases=["default"])
    flagged = {w.obj for w in warnings if w.id == "mailaccounts.W001"}
    assert flagged == {legacy_forward.address, legacy_alias.address}


def test_nothing_is_flagged_when_every_destination_is_deliverable(owner_client, mailbox):
    Mailbox.objects.filter(pk=mailbox.pk).update(forward_to=["boekhouder@example.org"])
    assert "is not sent on to" not in owner_client.get(reverse("dashboard")).content.decode()
    assert not checks.run_checks(tags=[checks.Tags.database], databases=["default"])


def test_the_data_check_is_quiet_on_a_database_without_tables_yet(monkeypatch):
    """`migrate` runs the database checks before it migrates: a new database must not stop it."""
    from django.db import ProgrammingError

    from mailaccounts import checks as data_checks

    def no_tables():
        raise ProgrammingError('relation "mailaccounts_mailbox" does not exist')

    monkeypatch.setattr(data_checks, "_undeliverable_destinations", no_tables)
    assert data_checks.undeliverable_destinations(databases=["default"]) == []
