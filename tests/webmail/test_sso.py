"""Open webmail: a one-time link for the mailbox's own user only, accepted once by the mail host's webmail,
within 60 seconds, stored only as a hash."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from mailaccounts.services import mailboxes
from tenants.audit import Actor
from tenants.models import AuditEntry, Membership
from tests.conftest import make_user
from tests.mailaccounts.conftest import MAILBOX_PASSWORD
from tests.mailboxusers.conftest import sign_in
from webmail import credentials, services
from webmail.models import SsoToken

pytestmark = pytest.mark.django_db


def open_link(client, mailbox) -> str:
    response = client.post(f"/mailboxes/{mailbox.pk}/webmail/")
    assert response.status_code == 302
    return response["Location"]


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["_sso"][0]


def test_the_mailbox_user_is_sent_to_webmail_with_a_token_stored_only_as_its_hash(mailbox_client, mailbox):
    url = open_link(mailbox_client, mailbox)
    assert url.startswith("https://webmail.postbode.test/?_sso=")
    token = token_of(url)
    stored = SsoToken.objects.get(mailbox=mailbox)
    assert stored.token_hash == SsoToken.hash_token(token) and token not in stored.token_hash
    assert timedelta(seconds=59) <= stored.expires_at - stored.created_at <= timedelta(seconds=60)
    assert AuditEntry.objects.filter(action="mailbox.webmail_open", object_id=str(mailbox.pk)).exists()


def test_the_mail_host_accepts_a_token_once(mailbox_client, mailbox, host_client):
    token = token_of(open_link(mailbox_client, mailbox))
    first = host_client("/webmail/api/sso/", {"token": token})
    assert first.status_code == 200
    answer = first.json()
    assert answer["user"] == mailbox.address and answer["host"] == mailbox.domain.mailhost.hostname
    # the webmail logs in with a credential for this mailbox on its host, never with a password
    assert credentials.is_valid(mailbox.domain.mailhost, mailbox.address, answer["password"])
    assert MAILBOX_PASSWORD not in first.content.decode()
    assert host_client("/webmail/api/sso/", {"token": token}).status_code == 403


def test_an_expired_forged_or_disabled_mailbox_token_opens_nothing(mailbox_client, mailbox, host_client):
    token = token_of(open_link(mailbox_client, mailbox))
    SsoToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert host_client("/webmail/api/sso/", {"token": token}).status_code == 403
    assert host_client("/webmail/api/sso/", {"token": "forged" * 7}).status_code == 403
    assert host_client("/webmail/api/sso/", {"token": ""}).status_code == 403
    fresh = services.create_sso_token(actor=Actor.system(), mailbox=mailbox)
    mailboxes.disable_mailbox(actor=Actor.system(), mailbox=mailbox)
    assert services.redeem_sso_token(fresh) is None


def test_the_sign_on_endpoint_does_not_exist_without_the_mail_hosts_secret(client, mailbox):
    token = services.create_sso_token(actor=Actor.system(), mailbox=mailbox)
    assert client.post("/webmail/api/sso/", {"token": token}).status_code == 404
    wrong = client.post("/webmail/api/sso/", {"token": token}, HTTP_AUTHORIZATION="Bearer guessed")
    assert wrong.status_code == 404
    assert (
        client.get("/webmail/api/sso/", HTTP_AUTHORIZATION="Bearer test-secret-of-the-mail-host").status_code
        == 404
    )
    assert services.redeem_sso_token(token) == mailbox  # still unused


def test_owners_and_colleagues_do_not_get_into_someone_elses_mail(owner_client, member_client, mailbox):
    assert owner_client.post(f"/mailboxes/{mailbox.pk}/webmail/").status_code == 404
    assert member_client.post(f"/mailboxes/{mailbox.pk}/webmail/").status_code == 404
    page = owner_client.get(f"/mailboxes/{mailbox.pk}/").content.decode()
    assert 'data-testid="open-webmail"' not in page and "https://webmail.postbode.test/" in page
    assert not SsoToken.objects.exists()


def test_a_mailbox_user_gets_404_for_another_mailboxs_webmail(mailbox_client, colleague, other_mailbox):
    for target in (colleague, other_mailbox):
        assert mailbox_client.post(f"/mailboxes/{target.pk}/webmail/").status_code == 404
    assert not SsoToken.objects.exists()


def test_open_webmail_takes_post_only(mailbox_client, mailbox):
    assert mailbox_client.get(f"/mailboxes/{mailbox.pk}/webmail/").status_code == 405


def test_open_webmail_is_refused_by_csrf_without_the_token(mailbox, client):
    strict = Client(enforce_csrf_checks=True)
    sign_in(strict, mailbox.address)
    assert strict.post(f"/mailboxes/{mailbox.pk}/webmail/").status_code == 403
    assert not SsoToken.objects.exists()


def test_the_mailbox_page_offers_its_own_user_the_button(mailbox_client, mailbox):
    page = mailbox_client.get(f"/mailboxes/{mailbox.pk}/").content.decode()
    assert 'data-testid="open-webmail"' in page


def test_a_panel_user_whose_login_is_the_mailbox_address_is_its_own_user(customer, make_mailbox):
    mailbox = make_mailbox("kees")
    user = make_user(mailbox.address)
    Membership.objects.create(user=user, customer=customer, role=Membership.Role.MEMBER)
    client = Client()
    client.force_login(user)
    assert token_of(open_link(client, mailbox))


def test_a_disabled_mailbox_gets_no_link(mailbox_client, mailbox):
    mailbox.is_enabled = False
    mailbox.save(update_fields=["is_enabled"])
    with pytest.raises(ValidationError, match="disabled"):
        services.create_sso_token(actor=Actor.system(), mailbox=mailbox)
    assert not SsoToken.objects.exists()


def test_the_link_never_lives_longer_than_60_seconds(settings, mailbox):
    settings.WEBMAIL_SSO_SECONDS = 3600
    services.create_sso_token(actor=Actor.system(), mailbox=mailbox)
    stored = SsoToken.objects.get()
    assert stored.expires_at - stored.created_at == timedelta(seconds=60)
