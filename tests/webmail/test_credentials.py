"""The credential a webmail session logs in to its mail host with (webmail/credentials.py): good for its own
mailbox on its own mail host until it expires, and nothing else; the host's key rendered for Dovecot only; the
mail host of a login with the password comes from the panel (one webmail address for every mail host)."""

import json
import time

import pytest
from django.utils import timezone

from mailaccounts.models import Domain
from mailhosts.models import MailHost
from mailhosts.rendering import MODE_AUTH
from tenants.audit import Actor
from webmail import credentials, services
from webmail.rendering import render_webmail

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_host(db):
    return MailHost.objects.create(
        name="mx2", hostname="mx2.postbode.test", queue="mailhost.mx2", config_dir="/tmp/postbode-mx2"
    )


@pytest.fixture
def mailbox_on_second_host(customer, second_host, make_mailbox):
    domain = Domain.objects.create(
        customer=customer,
        name="banketbakker.example",
        mailhost=second_host,
        verification_token="t2",
        verified_at=timezone.now(),
    )
    return make_mailbox("piet", on_domain=domain)


def test_a_credential_is_for_its_own_mailbox_on_its_own_host(mailbox, second_host):
    host = mailbox.domain.mailhost
    credential, expires = credentials.make_credential(host, mailbox.address)
    assert credentials.is_valid(host, mailbox.address, credential)
    assert credentials.is_valid(host, mailbox.address.upper(), credential)  # Dovecot lower-cases the login
    assert not credentials.is_valid(host, "kees@" + mailbox.domain.name, credential)
    assert not credentials.is_valid(second_host, mailbox.address, credential)
    forged = credential[:-1] + ("0" if credential[-1] != "0" else "1")
    assert not credentials.is_valid(host, mailbox.address, forged)
    assert not credentials.is_valid(
        host, mailbox.address, credential.replace(str(expires), str(expires + 60))
    )
    assert not credentials.is_valid(host, mailbox.address, "Brood-En-Banket-42")


def test_a_credential_expires_after_the_longest_webmail_session(mailbox, settings):
    settings.WEBMAIL_SESSION_SECONDS = 3600
    host = mailbox.domain.mailhost
    credential, expires = credentials.make_credential(host, mailbox.address)
    assert expires - 3601 <= time.time() <= expires - 3599
    assert credentials.is_valid(host, mailbox.address, credential, now=expires - 1)
    assert not credentials.is_valid(host, mailbox.address, credential, now=expires)
    settings.WEBMAIL_SESSION_SECONDS = 600  # a shorter limit also ends longer credentials already out
    assert not credentials.is_valid(host, mailbox.address, credential)


def test_each_host_has_its_own_key_rendered_for_dovecot_only(domain, second_host, settings):
    settings.WEBMAIL_ALLOW_NETS = ["127.0.0.1/32", "192.0.2.10", "not a net"]
    rendered = render_webmail(domain.mailhost).files["webmail/dovecot-credentials.json"]
    values = json.loads(rendered.content)
    assert values["key"] == credentials.host_key(domain.mailhost) != credentials.host_key(second_host)
    assert values["allow_nets"] == ["127.0.0.1/32", "192.0.2.10/32"]
    assert (
        values["services"] == ["imap", "smtp"] and values["max_seconds"] == settings.WEBMAIL_SESSION_SECONDS
    )
    assert rendered.mode == MODE_AUTH and rendered.group == settings.MAILHOST_AUTH_GROUP
    assert settings.WEBMAIL_CREDENTIAL_SECRET not in rendered.content.decode()
    assert "webmail/dovecot-masters" not in render_webmail(domain.mailhost).files  # no master login any more
    roundcube = json.loads(render_webmail(domain.mailhost).files["webmail/roundcube.json"].content)
    assert set(roundcube) == {"des_key", "api_secret"}


def test_sign_on_answers_with_the_mailboxs_own_host_and_its_key(
    mailbox_on_second_host, second_host, host_client
):
    token = services.create_sso_token(actor=Actor.system(), mailbox=mailbox_on_second_host)
    answer = host_client("/webmail/api/sso/", {"token": token}).json()
    assert answer["user"] == mailbox_on_second_host.address and answer["host"] == "mx2.postbode.test"
    assert credentials.is_valid(second_host, answer["user"], answer["password"])
    assert not credentials.is_valid(MailHost.objects.default(), answer["user"], answer["password"])


def test_a_login_with_the_password_goes_to_the_mailboxs_own_host(
    mailbox, mailbox_on_second_host, host_client, client
):
    first = host_client("/webmail/api/host/", {"user": mailbox.address.upper()})
    assert first.status_code == 200 and first.json() == {"host": mailbox.domain.mailhost.hostname}
    second = host_client("/webmail/api/host/", {"user": mailbox_on_second_host.address})
    assert second.json() == {"host": "mx2.postbode.test"}
    assert host_client("/webmail/api/host/", {"user": "nobody@banketbakker.example"}).status_code == 404
    assert client.post("/webmail/api/host/", {"user": mailbox.address}).status_code == 404  # no secret
