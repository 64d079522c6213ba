"""Whether a signed-in user is a mailbox's own login is read with their membership (one query, not two), and
means the same as when `own_mailbox` asked on its own."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mailaccounts.models import MailboxUser


def test_a_members_page_asks_nothing_more_about_mailbox_logins(owner_client):
    with CaptureQueriesContext(connection) as queries:
        response = owner_client.get(reverse("dashboard"))
    assert response.status_code == 200
    mailbox_user_queries = [q["sql"] for q in queries if 'FROM "mailaccounts_mailboxuser"' in q["sql"]]
    assert mailbox_user_queries == []
    assert any('"mailaccounts_mailboxuser"' in q["sql"] for q in queries)  # joined to the membership


def test_a_member_who_is_also_a_mailbox_login_is_still_limited_to_the_mailbox(owner, owner_client, mailbox):
    """Not a state the panel makes (a mailbox login is a user of its own), but if it ever exists the member is
    limited to the mailbox, as before the lookup was joined."""
    MailboxUser.objects.create(user=owner, mailbox=mailbox)
    assert owner_client.get(reverse("mailaccounts:mailbox_list")).status_code == 404
    response = owner_client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mailaccounts:mailbox_detail", args=[mailbox.pk])


def test_a_mailbox_login_without_membership_is_found_as_before(mailbox_client, mailbox):
    response = mailbox_client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mailaccounts:mailbox_detail", args=[mailbox.pk])
