"""Relay credentials reach Dovecot as rows of a SQLite table it reads on every login
(`dovecot/relay-users.sqlite`, deploy/dovecot/relay-sql.conf.ext), kept beside the rendered passwd-file:
Dovecot looks at a passwd-file's mtime at most once a second, so each new, changed or revoked credential
waited up to a second before it was live. Each test applies by hand (on-commit work does not run inside a
test's transaction)."""

import sqlite3
from pathlib import Path

import pytest
from django.utils import timezone

import mailhosts.apply
from mailaccounts.models import Domain
from mailaccounts.services import domains, mailboxes
from mailhosts.apply import apply_host
from relay.models import RelayCredential
from relay.rendering import RELAY_DOMAINS
from relay.services import (
    create_credential,
    delete_credential,
    hash_secret,
    rotate_credential_secret,
    set_credential_enabled,
    update_credential,
    verify_secret,
)
from tenants.audit import Actor

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


def logins(host) -> dict[str, str]:
    with sqlite3.connect(Path(host.config_dir) / "dovecot/relay-users.sqlite") as db:
        return dict(db.execute("SELECT username, password FROM users"))


def test_a_credential_is_a_row_live_without_waiting_for_dovecot(customer, domain, monkeypatch):
    host = domain.mailhost
    apply_host(host.pk, force=True)
    assert logins(host) == {}  # the table is there before the first credential
    waits = []
    monkeypatch.setattr(mailhosts.apply, "wait_for_dovecot_resync", waits.append)

    credential, secret = create_credential(customer=customer, name="webshop", domains=[domain], actor=SYSTEM)
    apply_host(host.pk)
    assert list(logins(host)) == [credential.username]
    assert verify_secret(secret, logins(host)[credential.username])

    new_secret = rotate_credential_secret(credential=credential, actor=SYSTEM)
    apply_host(host.pk)
    assert verify_secret(new_secret, logins(host)[credential.username])
    assert not verify_secret(secret, logins(host)[credential.username])

    set_credential_enabled(credential=credential, enabled=False, actor=SYSTEM)
    apply_host(host.pk)
    assert logins(host) == {}
    assert waits == []  # nothing Dovecot reads by a passwd-file's mtime changed


def test_a_host_with_only_the_passwd_file_gets_its_table_filled(customer, domain):
    host = domain.mailhost
    credential, _secret = create_credential(customer=customer, name="webshop", domains=[domain], actor=SYSTEM)
    apply_host(host.pk)
    (Path(host.config_dir) / "dovecot/relay-users.sqlite").unlink()  # as the layout before left it

    apply_host(host.pk, force=True)
    assert list(logins(host)) == [credential.username]


@pytest.fixture
def second_domain(customer, domain):
    return Domain.objects.create(
        customer=customer,
        name="bakkerij-twee.example",
        mailhost=domain.mailhost,
        verification_token="token-twee",
        verified_at=timezone.now(),
    )


def new_mailbox(domain, local_part: str):
    return mailboxes.create_mailbox(
        actor=SYSTEM,
        customer=domain.customer,
        domain=domain,
        local_part=local_part,
        display_name="",
        password="Lang-Genoeg-Wachtwoord-2026",
        quota_bytes=100 * 1024 * 1024,
    )


def test_a_change_in_a_domain_no_credential_sends_as_keeps_the_logins_as_they_are(
    customer, domain, other_domain
):
    """Issue 22, point 6: a password or mailbox changed in one domain does not read every credential of the
    host. The hash changed behind the services' back shows that the logins were not rendered again."""
    host = domain.mailhost
    credential, secret = create_credential(customer=customer, name="webshop", domains=[domain], actor=SYSTEM)
    apply_host(host.pk)
    RelayCredential.objects.filter(pk=credential.pk).update(secret_hash=hash_secret("not-through-a-service"))

    new_mailbox(other_domain, "info")
    assert apply_host(host.pk).scopes == {other_domain.name}
    assert verify_secret(secret, logins(host)[credential.username])

    new_mailbox(domain, "info")  # the credential's own domain: its logins are rendered again
    apply_host(host.pk)
    assert verify_secret("not-through-a-service", logins(host)[credential.username])


def test_relay_changes_applied_domain_by_domain_are_what_a_whole_rendering_makes(
    customer, domain, second_domain, other_domain, other_customer
):
    """Every kind of change of a credential, of its domains and of the domains around it, each applied by its
    scopes: after each, rendering the whole host finds nothing to write, so the logins a partial apply kept
    or made are exactly those of a whole rendering (a revoked credential, or one whose domain was taken from
    it, is gone)."""
    host = domain.mailhost
    apply_host(host.pk, force=True)
    made = {}

    def create(name, domains, owner=customer):
        made[name], _secret = create_credential(customer=owner, name=name, domains=domains, actor=SYSTEM)

    steps = [
        lambda: create("shop", [domain, second_domain]),
        lambda: create("crm", [other_domain], owner=other_customer),
        lambda: new_mailbox(other_domain, "info"),
        lambda: rotate_credential_secret(credential=made["shop"], actor=SYSTEM),
        lambda: set_credential_enabled(credential=made["crm"], enabled=False, actor=SYSTEM),
        lambda: new_mailbox(domain, "info"),
        lambda: update_credential(
            credential=made["shop"], name="shop", domains=[second_domain], actor=SYSTEM
        ),
        lambda: new_mailbox(domain, "verkoop"),
        lambda: set_credential_enabled(credential=made["crm"], enabled=True, actor=SYSTEM),
        lambda: domains.remove_domain(domain=second_domain, actor=SYSTEM),
        lambda: create("shop2", [domain]),
        lambda: delete_credential(credential=made["crm"], actor=SYSTEM),
        lambda: new_mailbox(other_domain, "verkoop"),
    ]
    expected_logins = [
        {"shop"},
        {"shop", "crm"},
        {"shop", "crm"},
        {"shop", "crm"},
        {"shop"},
        {"shop"},
        {"shop"},
        {"shop"},
        {"shop", "crm"},
        {"crm"},
        {"crm", "shop2"},
        {"shop2"},
        {"shop2"},
    ]
    for step, expected in zip(steps, expected_logins, strict=True):
        step()
        apply_host(host.pk)
        assert set(logins(host)) == {made[name].username for name in expected}
        assert apply_host(host.pk, force=True).changed_files == []


def test_a_host_without_the_list_of_credential_domains_renders_the_logins(customer, domain, other_domain):
    host = domain.mailhost
    credential, _secret = create_credential(customer=customer, name="webshop", domains=[domain], actor=SYSTEM)
    apply_host(host.pk)
    (Path(host.config_dir) / RELAY_DOMAINS).unlink()  # as an apply before this list left the host
    delete_credential(credential=credential, actor=SYSTEM)
    new_mailbox(other_domain, "info")
    apply_host(host.pk)
    assert logins(host) == {}
    assert (Path(host.config_dir) / RELAY_DOMAINS).read_text() == ""
