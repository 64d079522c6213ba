"""The spam filter's per-mailbox settings reach Dovecot as rows of a SQLite table it reads on every lookup
(`spamfilter/users.sqlite`, deploy/dovecot/spamfilter-sql.conf.ext), not as a passwd-file: Dovecot looks at a
passwd-file's mtime at most once a second, so each change of a mailbox's filing or Junk keep time waited up to
a second before it was live. Each test applies by hand (on-commit work does not run inside a test's
transaction)."""

import sqlite3
from pathlib import Path

import pytest

import mailhosts.apply
from mailhosts.apply import apply_host
from mailhosts.rendering import MAILBOX_USERS
from spamfilter import services
from spamfilter.rendering import USERDB_FIELDS
from tenants.audit import Actor
from tests.conftest import mark_layout_before

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


def rows(host) -> list[tuple]:
    with sqlite3.connect(Path(host.config_dir) / "spamfilter/users.sqlite") as db:
        return sorted(db.execute("SELECT username, sieve_before, junk_autoexpunge FROM users"))


def script(host, name: str) -> str:
    return f"file:{host.config_dir}/spamfilter/sieve/{name}.sieve;bindir=~/sieve-spam-bin"


def test_a_changed_setting_is_a_changed_row_live_without_waiting_for_dovecot(
    domain, make_mailbox, monkeypatch
):
    host = domain.mailhost
    jan, piet = make_mailbox("jan"), make_mailbox("piet")
    apply_host(host.pk)
    assert rows(host) == []  # everyone files the default way
    waits = []
    monkeypatch.setattr(mailhosts.apply, "wait_for_dovecot_resync", waits.append)

    services.update_mailbox_policy(
        actor=SYSTEM, mailbox=piet, inherits=False, is_enabled=False, sensitivity="normal", reject_score=15
    )
    services.update_mailbox_policy(
        actor=SYSTEM,
        mailbox=jan,
        inherits=False,
        is_enabled=True,
        sensitivity="normal",
        reject_score=15,
        junk_days=7,
    )
    result = apply_host(host.pk)
    assert result.scopes == {"bakkerij.example"}
    assert rows(host) == [
        ("jan@bakkerij.example", None, "7d"),
        ("piet@bakkerij.example", script(host, "off"), None),
    ]
    assert waits == []  # nothing Dovecot reads by a passwd-file's mtime changed

    services.update_mailbox_policy(
        actor=SYSTEM, mailbox=piet, inherits=True, is_enabled=True, sensitivity="normal", reject_score=15
    )
    apply_host(host.pk)
    assert rows(host) == [("jan@bakkerij.example", None, "7d")]  # back to the defaults: the row goes
    assert waits == []
    assert not (Path(host.config_dir) / "spamfilter/dovecot-userdb").exists()


def test_a_host_with_the_passwd_file_is_rendered_whole_once_and_its_table_filled(domain, make_mailbox):
    host = domain.mailhost
    jan = make_mailbox("jan")
    services.update_mailbox_policy(
        actor=SYSTEM, mailbox=jan, inherits=False, is_enabled=True, sensitivity="strict", reject_score=9
    )
    apply_host(host.pk)
    root = Path(host.config_dir)
    # as the layout before left it: the assembled passwd-file, no table, the marker of that layout
    (root / "spamfilter/dovecot-userdb").write_text("jan@bakkerij.example:::::::userdb_sieve_before=x\n")
    (root / "spamfilter/users.sqlite").unlink()
    mark_layout_before(host, "scoped-3")

    make_mailbox("piet")
    result = apply_host(host.pk)

    assert result.scopes is None
    assert rows(host) == [("jan@bakkerij.example", script(host, "strict"), None)]
    assert not (root / "spamfilter/dovecot-userdb").exists()


def test_the_layouts_read_lines_as_their_tables_hold_them():
    assert MAILBOX_USERS.schema == (  # as every existing host's table was made
        "CREATE TABLE IF NOT EXISTS users (username TEXT PRIMARY KEY, password TEXT NOT NULL, uid INTEGER NOT NULL,"
        " gid INTEGER NOT NULL, home TEXT NOT NULL, quota_rule TEXT) WITHOUT ROWID"
    )
    assert MAILBOX_USERS.row(
        b"jan@b.example:{CRYPT}x:5000:5000::/srv/mail/b/jan::userdb_quota_rule=*:storage=1B"
    ) == (
        "jan@b.example",
        "{CRYPT}x",
        5000,
        5000,
        "/srv/mail/b/jan",
        "*:storage=1B",
    )
    assert USERDB_FIELDS.schema == (
        "CREATE TABLE IF NOT EXISTS users (username TEXT PRIMARY KEY, sieve_before TEXT, junk_autoexpunge TEXT)"
        " WITHOUT ROWID"
    )
    line = b"jan@b.example:::::::userdb_sieve_before=file:/etc/x/off.sieve;bindir=~/b"
    assert USERDB_FIELDS.row(line) == ("jan@b.example", "file:/etc/x/off.sieve;bindir=~/b", None)
    for bad in (b"jan@b.example:::::::userdb_mail=/tmp", b"jan@b.example::::"):
        with pytest.raises(ValueError):
            USERDB_FIELDS.row(bad)
