"""Issue 15, point 10: the smaller findings."""

import re

from django.core import mail
from django.urls import reverse

from tenants.models import Invitation
from tenants.services import INVITATIONS_PER_DAY


def test_the_page_showing_a_generated_mailbox_password_is_never_stored(owner_client, domain):
    response = owner_client.post(
        reverse("mailaccounts:mailbox_add"),
        {"local_part": "kassa", "domain": domain.pk, "quota_mb": 100, "password_mode": "generate"},
    )
    page = owner_client.get(response["Location"])
    assert page.context["new_password"]
    assert "no-store" in page["Cache-Control"]


def invite(client, email, capture):
    with capture(execute=True):
        return client.post("/team/invite/", {"email": email, "role": "member"}, follow=True)


def shown_text(response) -> str:
    return re.sub(r"\S+@\S+", "ADDRESS", " ".join(str(m) for m in response.context["messages"]))


def test_inviting_an_address_that_has_a_user_answers_the_same_as_any_other(
    owner_client, outsider, django_capture_on_commit_callbacks
):
    unknown = invite(owner_client, "nobody-yet@example.org", django_capture_on_commit_callbacks)
    known = invite(owner_client, "outsider@example.org", django_capture_on_commit_callbacks)
    assert shown_text(known) == shown_text(unknown)
    assert known.status_code == unknown.status_code == 200
    assert "already belongs" not in known.content.decode()
    # The user gets a note without anything to accept; the invitation is listed like any other.
    note = next(m for m in mail.outbox if m.to == ["outsider@example.org"])
    assert "/invitation/" not in note.body and "already belongs to another customer account" in note.body
    assert Invitation.objects.filter(email="outsider@example.org").exists()


def test_refused_invitations_count_against_the_daily_limit(
    owner_client, outsider, django_capture_on_commit_callbacks
):
    for _number in range(INVITATIONS_PER_DAY):
        invite(owner_client, "outsider@example.org", django_capture_on_commit_callbacks)
    response = invite(owner_client, "new-colleague@example.org", django_capture_on_commit_callbacks)
    assert "many invitations today" in response.content.decode()


def test_every_admin_list_can_be_searched(staff_client):
    """Every staff screen with a search box answers a search (the user sessions' one searched `username`)."""
    from django.contrib import admin

    for model, model_admin in admin.site._registry.items():
        if not model_admin.get_search_fields(None):
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert staff_client.get(url, {"q": "x"}).status_code == 200, url
