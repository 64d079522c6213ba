"""The mailbox user's own corner: what they change is their own mailbox's, audited as made by them, and
the owner reads it in the activity log."""

from allauth.mfa.models import Authenticator
from django.test import Client

from mailaccounts import passwords
from mailaccounts.models import Autoresponder, Mailbox
from mailaccounts.services import logins
from spamfilter.models import SenderListEntry
from tenants.models import AuditEntry
from tests.mailboxusers.conftest import MAILBOX_PASSWORD, sign_in

NEW_PASSWORD = "Krentenbollen-Met-Spijs-8"


def entries_by(mailbox, action):
    return AuditEntry.objects.filter(action=action, actor_label=mailbox.address, customer=mailbox.customer)


def test_mailbox_user_sets_their_automatic_reply_and_the_owner_sees_it(mailbox_client, mailbox, owner_client):
    response = mailbox_client.post(
        f"/mailboxes/{mailbox.pk}/autoresponder/",
        {"is_enabled": "on", "subject": "Op vakantie", "body": "Tot maandag!", "interval_days": "1"},
    )
    assert response.status_code == 302
    assert Autoresponder.objects.get(mailbox=mailbox).subject == "Op vakantie"
    entry = entries_by(mailbox, "autoresponder.save").get()
    assert entry.actor.mailbox_login.mailbox == mailbox and entry.changes["signed_in_as"] == "mailbox"
    page = owner_client.get("/activity/").content.decode()
    assert mailbox.address in page and "own login" in page


def test_mailbox_user_changes_their_password_with_the_current_one(mailbox_client, mailbox):
    page = mailbox_client.get(f"/mailboxes/{mailbox.pk}/password/").content.decode()
    assert "Current password" in page
    choose = {"password_mode": "choose", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = mailbox_client.post(
        f"/mailboxes/{mailbox.pk}/password/", {**choose, "current_password": "wrong-one"}
    )
    assert "not the current password" in response.content.decode()
    assert passwords.verify_password(MAILBOX_PASSWORD, Mailbox.objects.get(pk=mailbox.pk).password_hash)

    response = mailbox_client.post(
        f"/mailboxes/{mailbox.pk}/password/", {**choose, "current_password": MAILBOX_PASSWORD}
    )
    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert passwords.verify_password(NEW_PASSWORD, mailbox.password_hash)
    assert mailbox.live_state in ("pending", "live")  # the mail host gets the new hash
    assert entries_by(mailbox, "mailbox.password").exists()
    assert mailbox_client.get(f"/mailboxes/{mailbox.pk}/").status_code == 200  # this session stays


def test_the_same_strength_rules_apply_to_their_own_password(mailbox_client, mailbox):
    weak = {"password_mode": "choose", "password1": "jan12345", "password2": "jan12345"}
    response = mailbox_client.post(
        f"/mailboxes/{mailbox.pk}/password/", {**weak, "current_password": MAILBOX_PASSWORD}
    )
    assert response.status_code == 200
    assert passwords.verify_password(MAILBOX_PASSWORD, Mailbox.objects.get(pk=mailbox.pk).password_hash)


def test_wrong_current_passwords_count_against_the_login_limit(mailbox_client, mailbox):
    choose = {"password_mode": "choose", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    for _attempt in range(5):
        mailbox_client.post(f"/mailboxes/{mailbox.pk}/password/", {**choose, "current_password": "nope"})
    response = mailbox_client.post(
        f"/mailboxes/{mailbox.pk}/password/", {**choose, "current_password": MAILBOX_PASSWORD}
    )
    assert "Too many wrong passwords" in response.content.decode()
    assert passwords.verify_password(MAILBOX_PASSWORD, Mailbox.objects.get(pk=mailbox.pk).password_hash)


def test_mailbox_user_sets_forwarding(mailbox_client, mailbox):
    mailbox_client.post(
        f"/mailboxes/{mailbox.pk}/forwarding/", {"forward_to": "jan@thuis.example", "keep_copy": "on"}
    )
    assert Mailbox.objects.get(pk=mailbox.pk).forward_to == ["jan@thuis.example"]
    assert entries_by(mailbox, "mailbox.forwarding").exists()


def test_mailbox_user_sets_spam_filter_and_lists(mailbox_client, mailbox):
    page = mailbox_client.get(f"/mailboxes/{mailbox.pk}/").content.decode()
    assert f"/spam/mailboxes/{mailbox.pk}/" in page  # the spam filter's card shows for them
    response = mailbox_client.post(
        f"/spam/mailboxes/{mailbox.pk}/",
        {
            "inherits": "False",
            "is_enabled": "on",
            "sensitivity": "strict",
            "reject_score": "12",
            "junk_days": "14",
        },
    )
    assert response.status_code == 302
    mailbox_client.post(
        f"/spam/mailboxes/{mailbox.pk}/lists/", {"kind": "block", "entries": "spam@reclame.example"}
    )
    entry = SenderListEntry.objects.get(mailbox=mailbox)
    assert AuditEntry.objects.filter(actor_label=mailbox.address, action__contains="policy").exists()
    mailbox_client.post(f"/spam/mailboxes/{mailbox.pk}/lists/{entry.pk}/remove/")
    assert not SenderListEntry.objects.filter(mailbox=mailbox).exists()


def test_mailbox_user_sets_up_a_device_and_sees_recently_deleted_mail(mailbox_client, mailbox):
    page = mailbox_client.get(f"/mailboxes/{mailbox.pk}/devices/?client=thunderbird").content.decode()
    assert mailbox.address in page
    assert mailbox_client.get(f"/mailboxes/{mailbox.pk}/backups/deleted/").status_code == 200
    assert mailbox_client.get(f"/mailboxes/{mailbox.pk}/backups/restore/").status_code == 200


def test_their_menu_shows_only_their_own_pages(mailbox_client, mailbox):
    page = mailbox_client.get(f"/mailboxes/{mailbox.pk}/").content.decode()
    nav = page.split('id="sidenav"')[1].split("</nav>")[0]
    for link in [
        f"/mailboxes/{mailbox.pk}/password/",
        f"/mailboxes/{mailbox.pk}/autoresponder/",
        f"/spam/mailboxes/{mailbox.pk}/",
        f"/mailboxes/{mailbox.pk}/devices/",
        f"/mailboxes/{mailbox.pk}/backups/deleted/",
        "/security/",
    ]:
        assert f'href="{link}"' in nav, link
    for customer_page in [
        "/mailboxes/",
        "/domains/",
        "/team/",
        "/billing/",
        "/plan/",
        "/activity/",
        "/relay/",
    ]:
        assert f'href="{customer_page}"' not in nav and f'href="{customer_page}' not in nav.replace(
            f"/mailboxes/{mailbox.pk}/", ""
        ), customer_page
    assert "support-pin" not in page  # the customer's support PIN is the owner's
    assert "Edit" not in page.split('id="own-intro"')[1].split("Storage")[0]  # quota is the owner's


def test_security_page_offers_two_factor_and_their_mailbox_password(mailbox_client, mailbox):
    page = mailbox_client.get("/security/").content.decode()
    assert "/accounts/2fa/" in page and f"/mailboxes/{mailbox.pk}/password/" in page
    assert "/accounts/email/" not in page


def test_two_factor_required_by_the_owner_applies_to_mailbox_users(client, mailbox, customer, settings):
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    settings.MFA_TOTP_TOLERANCE = 1  # two codes: one to set up, the next to sign in with

    customer.require_two_factor = True
    customer.save()
    response = client.post(
        "/accounts/login/", {"login": mailbox.address, "password": MAILBOX_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-2][0] == "/accounts/2fa/totp/activate/"
    assert client.get(f"/mailboxes/{mailbox.pk}/").status_code == 302  # nothing before two-factor
    # allauth asks for the password again: the mailbox's
    response = client.post(response.redirect_chain[-1][0], {"password": MAILBOX_PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/2fa/totp/activate/"
    secret = response.context["form"].secret
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    client.post("/accounts/2fa/totp/activate/", {"code": code})
    user = mailbox.login.user
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert client.get(f"/mailboxes/{mailbox.pk}/").status_code == 200

    # the next sign-in asks for the code after the mailbox password
    other = Client()
    response = sign_in(other, mailbox.address)
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/"
    assert other.get(f"/mailboxes/{mailbox.pk}/").status_code == 302
    code = format_hotp_value(hotp_value(secret, list(yield_hotp_counters_from_time())[-1]))  # not used yet
    response = other.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 302 and response["Location"] == f"/mailboxes/{mailbox.pk}/"
    assert other.get(f"/mailboxes/{mailbox.pk}/").status_code == 200


def test_owner_switches_a_mailbox_login_off_and_on(owner_client, mailbox):
    page = owner_client.get(f"/mailboxes/{mailbox.pk}/").content.decode()
    assert 'id="panel-login"' in page and "Switch off" in page
    owner_client.post(f"/mailboxes/{mailbox.pk}/panel-login/", {"enabled": "0"})
    assert not Mailbox.objects.get(pk=mailbox.pk).panel_login_enabled
    assert AuditEntry.objects.filter(action="mailbox.panel_login_off").exists()
    assert sign_in(Client(), mailbox.address).status_code == 200  # refused, with the reason
    owner_client.post(f"/mailboxes/{mailbox.pk}/panel-login/", {"enabled": "1"})
    assert Mailbox.objects.get(pk=mailbox.pk).panel_login_enabled
    assert sign_in(Client(), mailbox.address).status_code == 302


def test_only_an_owner_switches_the_login(member_client, mailbox):
    assert "Only an owner can switch this" in member_client.get(f"/mailboxes/{mailbox.pk}/").content.decode()
    assert member_client.post(f"/mailboxes/{mailbox.pk}/panel-login/", {"enabled": "0"}).status_code == 403
    assert Mailbox.objects.get(pk=mailbox.pk).panel_login_enabled


def test_owner_card_says_when_it_was_last_used(owner_client, mailbox_client, mailbox):
    page = owner_client.get(f"/mailboxes/{mailbox.pk}/").content.decode()
    assert "Last signed in" in page


def test_suspended_account_lets_a_mailbox_user_look_but_not_change(mailbox_client, mailbox, customer):
    customer.status = customer.Status.SUSPENDED
    customer.save()
    page = mailbox_client.get(f"/mailboxes/{mailbox.pk}/").content.decode()
    assert "account is suspended" in page and "billing" not in page.split("banner")[1][:400]
    mailbox_client.post(f"/mailboxes/{mailbox.pk}/forwarding/", {"forward_to": "x@elders.example"})
    assert Mailbox.objects.get(pk=mailbox.pk).forward_to == []


def test_closed_account_signs_mailbox_users_out(mailbox_client, mailbox, customer):
    customer.status = customer.Status.CLOSED
    customer.save()
    response = mailbox_client.get(f"/mailboxes/{mailbox.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert logins.panel_login_refusal(mailbox) is not None
