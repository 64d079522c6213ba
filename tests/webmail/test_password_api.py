"""Password changes from webmail (Roundcube's password plugin, driver `postbode`) go through the panel: the
current password is checked and wrong ones rate-limited, the panel's strength rules answer in the user's
language, and the change is the panel's own (audited, applied to the mail host)."""

import time

import pytest
from django.core.cache import cache

from mailaccounts import passwords
from tenants.models import AuditEntry
from webmail import credentials

from .conftest import MAILBOX_PASSWORD

pytestmark = pytest.mark.django_db
NEW = "Krentenbol-Winter-2027"


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()


def change(host_client, mailbox, *, current=MAILBOX_PASSWORD, new=NEW, language="nl_NL", ip="198.51.100.7"):
    return host_client(
        "/webmail/api/password/",
        {"user": mailbox.address, "current": current, "new": new, "language": language, "ip": ip},
    )


def test_a_change_from_webmail_is_the_panels_own(host_client, mailbox, django_capture_on_commit_callbacks):
    revision = mailbox.revision
    with django_capture_on_commit_callbacks(execute=True):
        response = change(host_client, mailbox)
    assert response.status_code == 200 and response.json()["ok"] is True
    # the session carries on with a credential for this mailbox, whenever the host applies the new password
    assert credentials.is_valid(mailbox.domain.mailhost, mailbox.address, response.json()["password"])
    assert NEW not in response.content.decode()
    mailbox.refresh_from_db()
    assert passwords.verify_password(NEW, mailbox.password_hash)
    assert mailbox.revision > revision  # on its way to the mail host
    entry = AuditEntry.objects.get(action="mailbox.password", object_id=str(mailbox.pk))
    assert entry.changes == {"password": "chosen", "via": "webmail"}
    assert entry.ip_address == "198.51.100.7" and entry.customer == mailbox.customer


def test_it_is_audited_as_the_mailbox_users_own_login(host_client, mailbox, mailbox_client):
    change(host_client, mailbox)
    entry = AuditEntry.objects.get(action="mailbox.password", object_id=str(mailbox.pk))
    assert entry.actor_label == mailbox.address and entry.actor_kind == "user"


def test_a_wrong_current_password_changes_nothing_and_says_so_in_dutch(host_client, mailbox):
    response = change(host_client, mailbox, current="Verkeerd-Wachtwoord-1")
    assert response.status_code == 403
    assert response.json()["message"] == "Het huidige wachtwoord klopt niet."
    mailbox.refresh_from_db()
    assert passwords.verify_password(MAILBOX_PASSWORD, mailbox.password_hash)
    assert not AuditEntry.objects.filter(action="mailbox.password").exists()


def test_the_panels_strength_rules_apply_in_the_users_language(host_client, mailbox):
    dutch = change(host_client, mailbox, new="2026202620262026")
    assert dutch.status_code == 400 and "alleen cijfers" in dutch.json()["message"]
    english = change(host_client, mailbox, new="kort", language="en_US")
    assert english.status_code == 400 and "too short" in english.json()["message"]
    with_address = change(host_client, mailbox, new=f"{mailbox.address}-2027!")
    assert with_address.status_code == 400
    same = change(host_client, mailbox, new=MAILBOX_PASSWORD)
    assert same.status_code == 400 and "hetzelfde" in same.json()["message"]
    mailbox.refresh_from_db()
    assert passwords.verify_password(MAILBOX_PASSWORD, mailbox.password_hash)


def test_wrong_current_passwords_are_rate_limited_per_mailbox(host_client, mailbox, make_mailbox, settings):
    settings.WEBMAIL_PASSWORD_FAILURES = 3
    for _attempt in range(3):
        assert change(host_client, mailbox, current="Geraden-Wachtwoord-1").status_code == 403
    blocked = change(host_client, mailbox)  # even the right one waits now
    assert blocked.status_code == 429 and "paar minuten" in blocked.json()["message"]
    mailbox.refresh_from_db()
    assert passwords.verify_password(MAILBOX_PASSWORD, mailbox.password_hash)
    other = make_mailbox("kees")
    assert change(host_client, other).status_code == 200  # another mailbox is not held up


def test_an_unknown_disabled_or_deleted_mailbox_cannot_change_anything(host_client, mailbox, make_mailbox):
    response = host_client(
        "/webmail/api/password/", {"user": "niemand@bakkerij.example", "current": "x", "new": NEW}
    )
    assert response.status_code == 403
    mailbox.is_enabled = False
    mailbox.save(update_fields=["is_enabled"])
    assert change(host_client, mailbox).status_code == 403


def test_the_password_endpoint_does_not_exist_without_the_mail_hosts_secret(client, mailbox):
    data = {"user": mailbox.address, "current": MAILBOX_PASSWORD, "new": NEW}
    assert client.post("/webmail/api/password/", data).status_code == 404
    assert client.post("/webmail/api/password/", data, HTTP_AUTHORIZATION="Basic eDp5").status_code == 404
    assert client.post("/webmail/api/password/", data, HTTP_AUTHORIZATION="Bearer ").status_code == 404
    mailbox.refresh_from_db()
    assert passwords.verify_password(MAILBOX_PASSWORD, mailbox.password_hash)


def test_the_answer_waits_for_the_mail_host_to_have_the_new_password(host_client, mailbox, settings):
    """The session's next credential is for the new password, which Dovecot takes only once the change is
    applied: the answer waits for that (at most WEBMAIL_PASSWORD_APPLY_WAIT), and not at all for a failed
    apply (retried, and shown as failed in the panel)."""
    from mailhosts.models import MailHost
    from webmail.services import wait_until_applied

    settings.WEBMAIL_PASSWORD_APPLY_WAIT = 0.3
    started = time.monotonic()
    response = change(host_client, mailbox)  # nothing applies it here
    assert response.status_code == 200 and 0.3 <= time.monotonic() - started
    mailbox.refresh_from_db()
    host = mailbox.domain.mailhost
    assert not wait_until_applied(mailbox, timeout=0)
    MailHost.objects.filter(pk=host.pk).update(last_error="postmap: fatal")
    started = time.monotonic()
    assert not wait_until_applied(mailbox, timeout=30)
    assert time.monotonic() - started < 5
    MailHost.objects.filter(pk=host.pk).update(applied_revision=mailbox.revision, last_error="")
    assert wait_until_applied(mailbox, timeout=0)


def test_a_credential_from_before_a_password_change_no_longer_opens_the_mailbox(host_client, mailbox):
    host = mailbox.domain.mailhost
    before, _expires = credentials.make_credential(host, mailbox.address)
    assert credentials.is_valid(host, mailbox.address, before)
    response = change(host_client, mailbox)
    assert not credentials.is_valid(host, mailbox.address, before)  # as a session on the old password ends
    assert credentials.is_valid(host, mailbox.address, response.json()["password"])
