"""A mailbox's own user sees only their own mailbox: every other mailbox and every customer page is a 404."""

import pytest
from django.core import mail
from django.http import Http404
from django.test import RequestFactory

from mailaccounts.access import get_alias_or_404, get_domain_or_404, get_mailbox_or_404
from mailaccounts.models import MailboxUser
from mailaccounts.services.logins import mailbox_login_user
from tenants.audit import Actor
from tenants.models import Membership
from tenants.services import invite_member


def test_get_mailbox_or_404_finds_only_their_own_mailbox(mailbox, colleague, other_mailbox):
    user = mailbox_login_user(mailbox)
    request = RequestFactory().get("/")
    request.user, request.customer = user, mailbox.customer
    assert get_mailbox_or_404(request, mailbox.pk) == mailbox
    for pk in (colleague.pk, other_mailbox.pk):
        with pytest.raises(Http404):
            get_mailbox_or_404(request, pk)
        with pytest.raises(Http404):
            get_mailbox_or_404(request, pk, include_deleted=True)
    with pytest.raises(Http404):
        get_domain_or_404(request, mailbox.domain_id)
    with pytest.raises(Http404):
        get_alias_or_404(request, 1)
    assert MailboxUser.objects.get(user=user).mailbox == mailbox


def test_customer_pages_are_404_for_a_mailbox_user(mailbox_client, mailbox, colleague):
    for path in [
        f"/mailboxes/{colleague.pk}/",
        f"/mailboxes/{colleague.pk}/password/",
        f"/mailboxes/{mailbox.pk}/edit/",
        f"/mailboxes/{mailbox.pk}/delete/",
        "/mailboxes/",
        "/aliases/",
        "/domains/",
        f"/domains/{mailbox.domain_id}/",
        "/team/",
        "/activity/",
        "/plan/",
        "/billing/invoices/",
        "/relay/",
    ]:
        assert mailbox_client.get(path).status_code == 404, path


def test_their_own_pages_answer(mailbox_client, mailbox):
    for path in [
        f"/mailboxes/{mailbox.pk}/",
        f"/mailboxes/{mailbox.pk}/password/",
        f"/mailboxes/{mailbox.pk}/autoresponder/",
    ]:
        assert mailbox_client.get(path).status_code == 200, path


def test_a_mailbox_user_cannot_accept_a_team_invitation(
    mailbox_client, mailbox, owner, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite_member(customer=customer, email=mailbox.address, role="member", actor=Actor(user=owner))
    token = mail.outbox[-1].body.split("/invitation/")[1].split("/")[0]
    response = mailbox_client.post(f"/invitation/{token}/")
    assert response.status_code == 200
    assert "signed in with a mailbox" in response.content.decode()
    assert not Membership.objects.filter(user__email=mailbox.address).exists()
