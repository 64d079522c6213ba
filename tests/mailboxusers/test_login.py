"""A mailbox's own user signs in on the panel's login form with the mailbox address and password."""

from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import reverse

from mailaccounts.access import own_mailbox
from mailaccounts.models import Mailbox, MailboxUser
from mailaccounts.services import logins, mailboxes
from tenants.audit import Actor
from tenants.models import AuditEntry, Membership, User
from tests.conftest import PASSWORD, make_user
from tests.mailboxusers.conftest import MAILBOX_PASSWORD, sign_in


def test_the_login_page_tells_mailbox_users_they_can_sign_in_there(client, db):
    dutch = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="nl")
    hint = " ".join(dutch.content.decode().split())
    assert "Heb je een mailbox bij ons? Log dan in met je mailboxadres en het wachtwoord daarvan" in hint
    english = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Sign in with your mailbox address and its password" in " ".join(english.content.decode().split())
    assert 'data-testid="mailbox-login-hint"' in english.content.decode()


def test_mailbox_address_and_password_sign_in_and_land_on_the_mailbox(client, mailbox):
    response = sign_in(client, "Jan@Bakkerij.Example")
    assert response.status_code == 302
    assert response["Location"] == f"/mailboxes/{mailbox.pk}/"
    link = MailboxUser.objects.get(mailbox=mailbox)
    assert link.user.email == mailbox.address and link.last_login_at is not None
    assert not link.user.has_usable_password()
    assert not Membership.objects.filter(user=link.user).exists()
    assert own_mailbox(link.user) == mailbox
    assert client.get("/").status_code == 302  # the home page sends them to their mailbox
    assert client.get(f"/mailboxes/{mailbox.pk}/").status_code == 200


def test_signing_in_again_reuses_the_same_panel_user(client, mailbox):
    sign_in(client, mailbox.address)
    sign_in(Client(), mailbox.address)
    assert User.objects.filter(email=mailbox.address).count() == 1


def test_wrong_password_gets_no_session(client, mailbox):
    response = sign_in(client, mailbox.address, "not-the-password")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert not MailboxUser.objects.exists()


def test_wrong_mailbox_passwords_are_rate_limited_like_panel_logins(client, mailbox):
    for _attempt in range(5):
        sign_in(client, mailbox.address, "not-the-password")
    response = sign_in(client, mailbox.address)  # even the right password, now
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_customer_users_are_not_limited_to_a_mailbox(owner, member):
    assert own_mailbox(owner) is None and own_mailbox(member) is None


def test_panel_login_switched_off_says_so_after_the_right_password(client, mailbox):
    logins.set_panel_login(actor=Actor.system(), mailbox=mailbox, enabled=False)
    response = sign_in(client, mailbox.address)
    assert response.status_code == 200
    assert "switched off for this mailbox" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_switching_the_panel_login_off_ends_the_open_session(mailbox_client, mailbox):
    logins.set_panel_login(actor=Actor.system(), mailbox=mailbox, enabled=False)
    response = mailbox_client.get(f"/mailboxes/{mailbox.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_disabled_mailbox_signs_its_user_out(mailbox_client, mailbox):
    mailboxes.disable_mailbox(actor=Actor.system(), mailbox=mailbox)
    response = mailbox_client.get(f"/mailboxes/{mailbox.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_owner_changing_the_mailbox_password_ends_the_mailbox_users_sessions(mailbox_client, mailbox):
    mailboxes.set_mailbox_password(actor=Actor.system(), mailbox=mailbox, password="Nieuw-Wachtwoord-77")
    response = mailbox_client.get(f"/mailboxes/{mailbox.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert sign_in(Client(), mailbox.address, MAILBOX_PASSWORD).status_code == 200  # old one refused
    assert sign_in(Client(), mailbox.address, "Nieuw-Wachtwoord-77").status_code == 302


def test_an_address_that_is_a_panel_login_keeps_only_that_login(client, mailbox):
    make_user(mailbox.address)  # the owner uses their mailbox's address for the panel
    response = sign_in(client, mailbox.address, MAILBOX_PASSWORD)
    assert "already signs in to the panel" in response.content.decode()
    assert not MailboxUser.objects.exists()
    assert sign_in(Client(), mailbox.address, PASSWORD).status_code == 302  # the panel password works


def test_no_password_reset_mail_for_a_mailbox_login(client, mailbox):
    sign_in(Client(), mailbox.address)
    mail.outbox.clear()
    client.post("/accounts/password/reset/", {"email": mailbox.address})
    assert not [m for m in mail.outbox if "password" in m.subject.lower() and "reset" in m.body.lower()]


def test_password_pages_of_the_panel_send_a_mailbox_user_to_the_mailbox_password(mailbox_client, mailbox):
    for path in ["/accounts/password/change/", "/accounts/password/set/", "/accounts/email/"]:
        response = mailbox_client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(f"/mailboxes/{mailbox.pk}/"), path
    assert not User.objects.get(email=mailbox.address).has_usable_password()


def test_purging_the_mailbox_deletes_its_panel_user(mailbox_client, mailbox):
    mailboxes.purge_mailbox(mailbox=mailbox)
    assert not User.objects.filter(email=mailbox.address).exists()
    assert not EmailAddress.objects.filter(email=mailbox.address).exists()


def test_a_password_set_on_the_panel_user_behind_the_mailbox_does_not_sign_in(client, mailbox):
    """Say staff set one in the admin: only the mailbox's own password opens the panel for it."""
    sign_in(Client(), mailbox.address)
    user = User.objects.get(email=mailbox.address)
    user.set_password("Door-Support-Gezet-1")
    user.save()
    response = sign_in(client, mailbox.address, "Door-Support-Gezet-1")
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 302)
    assert sign_in(Client(), mailbox.address).status_code == 302  # the mailbox password still does


def test_staff_switch_a_mailbox_login_off_from_the_admin(staff_client, staff, mailbox_client, mailbox):
    staff_client.post(
        reverse("admin:mailaccounts_mailbox_changelist"),
        {"action": "switch_panel_login_off", "_selected_action": [mailbox.pk]},
    )
    assert not Mailbox.objects.get(pk=mailbox.pk).panel_login_enabled
    assert AuditEntry.objects.get(action="mailbox.panel_login_off").actor_kind == "staff"
    assert mailbox_client.get(f"/mailboxes/{mailbox.pk}/").status_code == 302  # signed out


def test_switching_the_login_off_frees_the_address_to_join_the_team(mailbox_client, mailbox):
    logins.set_panel_login(actor=Actor.system(), mailbox=mailbox, enabled=False)
    assert not User.objects.filter(email=mailbox.address).exists()
    signup = Client().post(
        "/accounts/signup/",
        {
            "email": mailbox.address,
            "password1": "Een-Eigen-Wachtwoord-9",
            "password2": "Een-Eigen-Wachtwoord-9",
        },
    )
    assert signup.status_code == 302
    logins.set_panel_login(actor=Actor.system(), mailbox=mailbox, enabled=True)
    response = sign_in(Client(), mailbox.address)  # the address is now a panel login of its own
    assert "already signs in to the panel" in response.content.decode()
