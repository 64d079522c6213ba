import hashlib
import re

from django.core import mail

from tenants.models import AuditEntry, Invitation, Membership
from tests.conftest import PASSWORD, make_user


def invite(owner_client, email="colleague@example.com", role="member", **kwargs):
    with kwargs.pop("capture")(execute=True):
        return owner_client.post("/team/invite/", {"email": email, "role": role}, follow=True)


def sent_token() -> str:
    return re.search(r"/invitation/([\w-]+)/", mail.outbox[-1].body).group(1)


def test_team_lists_members(owner_client, member):
    page = owner_client.get("/team/").content.decode()
    assert "owner@example.com" in page and "member@example.com" in page


def test_owner_invites_by_email_and_only_the_hash_is_stored(
    owner_client, customer, django_capture_on_commit_callbacks
):
    response = invite(owner_client, capture=django_capture_on_commit_callbacks)
    assert "Invitation sent to colleague@example.com" in response.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["colleague@example.com"]
    assert "Bakkerij de Vries" in message.subject
    token = sent_token()
    invitation = Invitation.objects.get(customer=customer)
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in invitation.token_hash
    assert message.alternatives and token in message.alternatives[0][0]
    assert AuditEntry.objects.filter(action="invitation.sent", customer=customer).exists()


def test_invite_with_bad_email_or_role_is_refused(owner_client, customer):
    owner_client.post("/team/invite/", {"email": "nope", "role": "member"})
    owner_client.post("/team/invite/", {"email": "a@example.com", "role": "owner"})
    assert not Invitation.objects.exists()


def test_invite_of_someone_in_a_customer_sends_nothing_to_accept(
    owner_client, outsider, django_capture_on_commit_callbacks
):
    """Issue 15: the owner's answer does not tell whether the address has a user (tests/security); the
    address gets a note without a link, so nobody can join two customers."""
    invite(owner_client, email="OUTSIDER@example.org", capture=django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1 and "/invitation/" not in mail.outbox[0].body
    assert outsider.membership.customer.name == "Concurrent B.V."


def test_invited_user_signs_in_with_that_address_and_joins(
    owner_client, customer, client, django_capture_on_commit_callbacks
):
    invite(owner_client, role="billing", capture=django_capture_on_commit_callbacks)
    token = sent_token()
    anonymous = client.get(f"/invitation/{token}/").content.decode()
    assert "Sign in" in anonymous and "colleague@example.com" in anonymous
    colleague = make_user("colleague@example.com")
    client.force_login(colleague)
    response = client.post(f"/invitation/{token}/")
    assert response["Location"] == "/"
    membership = Membership.objects.get(user=colleague)
    assert membership.customer == customer and membership.role == "billing"
    assert Invitation.objects.get().accepted_at is not None
    assert client.get(f"/invitation/{token}/").status_code == 404  # used once


def test_invitation_cannot_be_accepted_with_another_address(
    owner_client, client, django_capture_on_commit_callbacks
):
    invite(owner_client, capture=django_capture_on_commit_callbacks)
    token = sent_token()
    stranger = make_user("stranger@example.com")
    client.force_login(stranger)
    assert "Sign in with that address" in client.get(f"/invitation/{token}/").content.decode()
    client.post(f"/invitation/{token}/")
    assert not Membership.objects.filter(user=stranger).exists()


def test_invitation_signup_through_the_link(owner_client, customer, django_capture_on_commit_callbacks):
    from django.test import Client

    invite(owner_client, capture=django_capture_on_commit_callbacks)
    token = sent_token()
    browser = Client()
    signup = browser.post(
        f"/accounts/signup/?next=/invitation/{token}/",
        {"email": "colleague@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert signup.status_code == 302
    confirm_path = re.search(r"https?://[^/]+(/accounts/confirm-email/[^/\s]+/)", mail.outbox[-1].body).group(
        1
    )
    assert browser.post(confirm_path).status_code == 302
    assert browser.post(f"/invitation/{token}/")["Location"] == "/"
    assert Membership.objects.get(user__email="colleague@example.com").customer == customer


def test_unknown_token_is_404(client, db):
    assert client.get("/invitation/not-a-token/").status_code == 404


def test_owner_cancels_invitation(owner_client, customer, django_capture_on_commit_callbacks):
    invite(owner_client, capture=django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()
    owner_client.post(f"/team/invitations/{invitation.pk}/cancel/")
    assert not Invitation.objects.exists()


def test_owner_removes_member(owner_client, member, customer):
    membership = member.membership
    response = owner_client.post(f"/team/members/{membership.pk}/remove/")
    assert response.status_code == 302
    assert not Membership.objects.filter(user=member).exists()
    assert AuditEntry.objects.filter(action="member.removed", customer=customer).exists()


def test_last_owner_cannot_be_removed(owner_client, owner):
    response = owner_client.post(f"/team/members/{owner.membership.pk}/remove/", follow=True)
    assert "last owner cannot be removed" in response.content.decode()
    assert Membership.objects.filter(user=owner).exists()


def test_member_cannot_manage_the_team(member_client, owner, customer):
    assert member_client.post(f"/team/members/{owner.membership.pk}/remove/").status_code == 403
    assert (
        member_client.post("/team/invite/", {"email": "x@example.com", "role": "member"}).status_code == 403
    )
    assert member_client.post("/team/two-factor/", {"require_two_factor": "on"}).status_code == 403
    assert Membership.objects.filter(user=owner).exists() and not Invitation.objects.exists()


def test_outsider_cannot_remove_another_customers_member(outsider_client, member):
    assert outsider_client.post(f"/team/members/{member.membership.pk}/remove/").status_code == 404
    assert Membership.objects.filter(user=member).exists()


def test_outsider_cannot_cancel_another_customers_invitation(outsider_client, customer, owner):
    invitation = Invitation.objects.create(customer=customer, email="x@example.com", token_hash="h" * 64)
    assert outsider_client.post(f"/team/invitations/{invitation.pk}/cancel/").status_code == 404
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_expired_invitation_is_refused(owner_client, client, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    invite(owner_client, capture=django_capture_on_commit_callbacks)
    token = sent_token()
    Invitation.objects.update(created_at=timezone.now() - timedelta(days=8))
    assert client.get(f"/invitation/{token}/").status_code == 404


def test_invitations_per_day_are_limited(owner_client, customer, django_capture_on_commit_callbacks):
    from tenants.services import INVITATIONS_PER_DAY

    for number in range(INVITATIONS_PER_DAY):
        Invitation.objects.create(
            customer=customer, email=f"p{number}@example.com", token_hash=f"{number:064d}"
        )
    response = invite(owner_client, capture=django_capture_on_commit_callbacks)
    assert "many invitations today" in response.content.decode()
    assert not mail.outbox


def test_team_page_queries_do_not_grow(owner_client, customer, django_assert_max_num_queries):
    for number in range(15):
        user = make_user(f"m{number}@example.com")
        Membership.objects.create(user=user, customer=customer, role="member")
        Invitation.objects.create(
            customer=customer, email=f"i{number}@example.com", token_hash=f"{number:064d}"
        )
    with django_assert_max_num_queries(9):
        page = owner_client.get("/team/").content.decode()
    assert "m14@example.com" in page and "i14@example.com" in page
