"""Relay credentials reach Dovecot as rows of a SQLite table it reads on every login
(`dovecot/relay-users.sqlite`, deploy/dovecot/relay-sql.conf.ext), kept beside the rendered passwd-file:
Dovecot looks at a passwd-file's mtime at most once a second, so each new, changed or revoked credential
waited up to a second before it was live. Each test applies by hand (on-commit work does not run inside a
test's transaction)."""

import sqlite3
from pathlib import Path

import pytest

import mailhosts.apply
from mailhosts.apply import apply_host
from relay.services import create_credential, rotate_credential_secret, set_credential_enabled, verify_secret
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
