"""A mailbox's own user on the real mail stack (issue 20): signs in to the panel with the mailbox address and
password, sets an automatic reply and changes the password; Dovecot and Postfix follow, and the owner reads
both changes in the activity log."""

import pytest
from django.core.cache import cache
from django.test import Client

from mailaccounts.models import Autoresponder, Mailbox
from tenants.models import AuditEntry
from tests.integration.conftest import create_mailbox

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
