"""A mailbox's own user on the real mail stack (issue 20): signs in to the panel with the mailbox address and
password, sets an automatic reply and changes the password; Dovecot and Postfix follow, and the owner reads
both changes in the activity log."""

import re

import pytest
from django.core.cache import cache
from django.test import Client

from mailaccounts.models import Autoresponder, Mailbox
from tenants.models import AuditEntry
from tests.integration.conftest import create_mailbox
from tests.integration.test_backups import backups_host  # noqa: F401 (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Zomer-Appeltaart-2026"
NEW_PASSWORD = "Winter-Oliebollen-2027"


def test_mailbox_user_sets_an_automatic_reply_and_changes_the_password_on_the_real_stack(
    stack_domain, mail, fresh, owner_client
):
    cache.clear()  # allauth's login counters
    mailbox = create_mailbox(stack_domain, fresh("jan"), PASSWORD)
    mail.wait_live(mailbox)

    browser = Client()
    response = browser.post("/accounts/login/", {"login": mailbox.address, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == f"/mailboxes/{mailbox.pk}/"

    response = browser.post(
        f"/mailboxes/{mailbox.pk}/autoresponder/",
        {
            "is_enabled": "on",
            "subject": "Afwezig tot maandag",
            "body": "Ik ben er maandag weer. Groet, Jan",
            "interval_days": "1",
        },
    )
    assert response.status_code == 302
    autoresponder = Autoresponder.objects.get(mailbox=mailbox)
    mail.wait_live(autoresponder)
    sender = f"{fresh('klant')}@elders.example"
    mail.deliver(mail.message(sender=sender, to=mailbox.address, subject="Bestelling taart"))
    reply = mail.wait_for_sink(to=sender)
    assert reply["Subject"] == "Afwezig tot maandag"
    assert "Ik ben er maandag weer" in reply.get_body(("plain",)).get_content()

    response = browser.post(
        f"/mailboxes/{mailbox.pk}/password/",
        {
            "current_password": PASSWORD,
            "password_mode": "choose",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    mail.wait_live(Mailbox.objects.get(pk=mailbox.pk))
    assert mail.imap_login_works(mailbox.address, NEW_PASSWORD)
    assert not mail.imap_login_works(mailbox.address, PASSWORD, source="127.0.0.5")
    assert browser.get(f"/mailboxes/{mailbox.pk}/").status_code == 200  # still signed in here

    by_jan = AuditEntry.objects.filter(actor_label=mailbox.address, customer=stack_domain.customer)
    assert set(by_jan.values_list("action", flat=True)) >= {"autoresponder.save", "mailbox.password"}
    activity = owner_client.get("/activity/").content.decode()
    assert "Automatic reply saved" in activity and "Mailbox password changed" in activity
    assert mailbox.address in activity and "own login" in activity


@pytest.mark.browser
def test_in_chromium_a_mailbox_user_sets_an_automatic_reply_and_a_new_password_on_the_real_stack(
    page, shot, stack_domain, mail, fresh, owner_client
):
    """The same as above, as the person behind the mailbox does it: in a browser, through the panel's forms."""
    cache.clear()  # allauth's login counters
    mailbox = create_mailbox(stack_domain, fresh("anna"), PASSWORD)
    mail.wait_live(mailbox)

    page.goto("/accounts/login/")
    page.fill("input[name=login]", mailbox.address)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(f"**/mailboxes/{mailbox.pk}/")

    page.goto(f"/mailboxes/{mailbox.pk}/autoresponder/")
    page.check("input[name=is_enabled]")
    page.fill("input[name=subject]", "Met vakantie tot dinsdag")
    page.fill("textarea[name=body]", "Ik lees je mail dinsdag. Groet, Anna")
    page.get_by_role("button", name=re.compile("Opslaan|Bewaren")).click()
    page.wait_for_url(f"**/mailboxes/{mailbox.pk}/")
    shot("mailbox-user-stack-autoresponder-saved")
    mail.wait_live(Autoresponder.objects.get(mailbox=mailbox))
    sender = f"{fresh('klant')}@elders.example"
    mail.deliver(mail.message(sender=sender, to=mailbox.address, subject="Vraag over de taart"))
    assert mail.wait_for_sink(to=sender)["Subject"] == "Met vakantie tot dinsdag"

    page.goto(f"/mailboxes/{mailbox.pk}/password/")
    page.fill("input[name=current_password]", PASSWORD)
    page.check("input[name=password_mode][value=choose]")
    page.fill("input[name=password1]", NEW_PASSWORD)
    page.fill("input[name=password2]", NEW_PASSWORD)
    page.get_by_role("button", name=re.compile("Wachtwoord wijzigen")).click()
    page.wait_for_url(f"**/mailboxes/{mailbox.pk}/")
    mail.wait_live(Mailbox.objects.get(pk=mailbox.pk))
    assert mail.imap_login_works(mailbox.address, NEW_PASSWORD)
    assert not mail.imap_login_works(mailbox.address, PASSWORD, source="127.0.0.5")

    activity = owner_client.get("/activity/").content.decode()
    assert "Automatic reply saved" in activity and "Mailbox password changed" in activity
    assert mailbox.address in activity


def test_mailbox_user_gets_their_own_deleted_mail_back_but_never_a_colleagues(
    backups_host,  # noqa: F811
    stack_domain,
    mail,
    fresh,
    owner_client,
):
    from tests.integration.test_backups import append, imap_folder_messages

    cache.clear()
    mine = create_mailbox(stack_domain, fresh("els"), PASSWORD)
    colleague = create_mailbox(stack_domain, fresh("kees"), PASSWORD)
    mail.wait_live(colleague)
    for mailbox in (mine, colleague):
        client = mail.imap(mailbox.address, PASSWORD)
        gone = mail.message(sender="b@elders.example", to=mailbox.address, subject="Per ongeluk weg")
        append(client, "Offertes", gone)
        client.select("Offertes")
        client.store("1", "+FLAGS", "\\Deleted")
        client.expunge()
        client.logout()

    browser = Client()
    browser.post("/accounts/login/", {"login": mine.address, "password": PASSWORD})
    page = browser.get(f"/mailboxes/{mine.pk}/backups/deleted/")
    found = page.context["messages_found"]
    assert [(m.folder, m.subject) for m in found] == [("Offertes", "Per ongeluk weg")]
    colleagues = owner_client.get(f"/mailboxes/{colleague.pk}/backups/deleted/").context["messages_found"]

    assert browser.get(f"/mailboxes/{colleague.pk}/backups/deleted/").status_code == 404
    refused = browser.post(
        f"/mailboxes/{colleague.pk}/backups/deleted/restore/",
        {"folder": "Offertes", "guid": colleagues[0].guid},
    )
    assert refused.status_code == 404
    response = browser.post(
        f"/mailboxes/{mine.pk}/backups/deleted/restore/", {"folder": "Offertes", "guid": found[0].guid}
    )
    assert response.status_code == 302
    client = mail.imap(mine.address, PASSWORD)
    assert [m["Subject"] for m in imap_folder_messages(client, "Offertes")] == ["Per ongeluk weg"]
    client.logout()
    client = mail.imap(colleague.address, PASSWORD)
    assert imap_folder_messages(client, "Offertes") == []  # the colleague's stays deleted
    client.logout()
    entry = AuditEntry.objects.get(action="backup.deleted_message_restore")
    assert entry.actor_label == mine.address and entry.changes["signed_in_as"] == "mailbox"
