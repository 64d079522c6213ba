"""Rendering a mail host's files from the database, and applying them to disk (the embedded default)."""

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from django.utils import timezone
from passlib.hash import sha512_crypt

from mailaccounts.models import Alias, Autoresponder, Domain, Mailbox
from mailaccounts.usage import parse_quota_report
from mailhosts.apply import ApplyError, apply_host
from mailhosts.files import PartStore
from mailhosts.models import MailHost
from mailhosts.rendering import render_host

pytestmark = pytest.mark.django_db

GIB = 1024**3


def password_hash(password: str = "Secret-Password-1") -> str:
    return "{SHA512-CRYPT}" + sha512_crypt.using(rounds=5000).hash(password)


def make_mailbox(domain, local_part, **fields) -> Mailbox:
    fields.setdefault("password_hash", password_hash())
    fields.setdefault("quota_bytes", GIB)
    return Mailbox.objects.create(customer=domain.customer, domain=domain, local_part=local_part, **fields)


def make_domain(customer, name: str, mailhost) -> Domain:
    """A verified domain of `customer` on `mailhost`."""
    return Domain.objects.create(
        customer=customer,
        name=name,
        mailhost=mailhost,
        verification_token=f"token-{name}",
        verified_at=timezone.now(),
    )


def text(config, path: str) -> str:
    return config.files[path].content.decode()


def users(config) -> str:
    """Dovecot's users of every domain: the passwd-files of `dovecot/users.d/`, one per domain with users."""
    paths = sorted(path for path in config.files if path.startswith("dovecot/users.d/"))
    return "".join(text(config, path) for path in paths)


def test_a_mailbox_is_a_domain_a_mailbox_map_entry_a_user_and_its_own_sender(domain):
    make_mailbox(domain, "jan", quota_bytes=2 * GIB)
    config = render_host(domain.mailhost)

    assert text(config, "postfix/virtual_mailbox_domains") == "bakkerij.example OK\n"
    assert text(config, "postfix/virtual_mailbox_maps") == "jan@bakkerij.example bakkerij.example/jan/\n"
    assert text(config, "postfix/virtual_alias_maps") == ""  # no catch-all that could catch its mail
    assert text(config, "postfix/sender_login_maps") == "jan@bakkerij.example jan@bakkerij.example\n"
    user, hashed, uid, gid, _gecos, home, _shell, extra = users(config).strip().split(":", 7)
    assert user == "jan@bakkerij.example"
    assert hashed.startswith("{SHA512-CRYPT}$6$")
    assert (uid, gid) == ("5000", "5000")
    assert home == str(Path(domain.mailhost.config_dir) / "mail" / "bakkerij.example" / "jan")
    assert extra == f"userdb_quota_rule=*:storage={2 * GIB}B"
    assert config.mail_folders == {"bakkerij.example/jan"}


def test_rendering_is_sorted_and_the_same_every_time(domain):
    for local in ["zeta", "alpha", "mid"]:
        make_mailbox(domain, local)
    first, second = render_host(domain.mailhost), render_host(domain.mailhost)
    assert first.files == second.files
    locals_in_order = [line.split("@")[0] for line in users(first).splitlines()]
    assert locals_in_order == ["alpha", "mid", "zeta"]


def test_unverified_domains_are_not_served(customer):
    Domain.objects.create(
        customer=customer, name="gmail.com", mailhost=MailHost.objects.default(), verification_token="t"
    )
    config = render_host(MailHost.objects.default())
    assert text(config, "postfix/virtual_mailbox_domains") == ""


def test_disabled_mailbox_cannot_log_in_nor_receive_and_is_not_caught_by_the_catch_all(domain):
    make_mailbox(domain, "off", is_enabled=False)
    target = make_mailbox(domain, "info")
    domain.catch_all_to = target
    domain.save()
    config = render_host(domain.mailhost)

    assert "off@" not in users(config)
    assert "off@" not in text(config, "postfix/virtual_mailbox_maps")
    aliases = text(config, "postfix/virtual_alias_maps").splitlines()
    assert "off@bakkerij.example off@bakkerij.example" in aliases
    assert "@bakkerij.example info@bakkerij.example" in aliases
    assert (
        text(config, "postfix/recipient_access")
        == "off@bakkerij.example 550 5.2.1 This mailbox is disabled\n"
    )


def test_a_mailbox_maps_to_itself_only_in_a_domain_whose_catch_all_would_catch_its_mail(domain, customer):
    """Postfix looks up `jan@domain` before `@domain` in the alias map: an entry of its own keeps a mailbox's
    mail from the catch-all. Without a catch-all it is not needed (the mailbox map lists the mailbox), and a
    host's alias map is then its aliases, forwards and routing only. A mailbox called postmaster@ or abuse@
    still gets its own mail rather than the domain's postmaster's."""
    caught = make_domain(customer, "vangerd.example", domain.mailhost)
    info = make_mailbox(caught, "info")
    make_mailbox(caught, "piet")
    make_mailbox(caught, "uit", is_enabled=False)
    caught.catch_all_to = info
    caught.save()
    jan = make_mailbox(domain, "jan")
    make_mailbox(domain, "kees", forward_to=["kees@elders.example"], forward_keep_copy=True)
    make_mailbox(domain, "postmaster")
    domain.postmaster_to = jan
    domain.abuse_to = jan
    domain.save()
    aliases = text(render_host(domain.mailhost), "postfix/virtual_alias_maps").splitlines()

    assert aliases == [
        "abuse@bakkerij.example jan@bakkerij.example",
        "kees@bakkerij.example kees@bakkerij.example,kees@elders.example",
        "@vangerd.example info@vangerd.example",
        "info@vangerd.example info@vangerd.example",
        "piet@vangerd.example piet@vangerd.example",
        "uit@vangerd.example uit@vangerd.example",
    ]


def test_deleted_mailbox_is_gone_from_every_map_but_its_folder_is_kept(domain):
    make_mailbox(domain, "gone", deleted_at=timezone.now())
    config = render_host(domain.mailhost)
    assert "gone@" not in users(config)
    for path in ["postfix/virtual_mailbox_maps", "postfix/virtual_alias_maps"]:
        assert "gone@" not in text(config, path)
    assert config.mail_folders == set()
    assert config.known_folders == {"bakkerij.example/gone"}


def test_forwards_with_and_without_copy(domain):
    make_mailbox(domain, "keeps", forward_to=["a@elders.example"], forward_keep_copy=True)
    make_mailbox(
        domain, "passes", forward_to=["b@elders.example", "c@elders.example"], forward_keep_copy=False
    )
    aliases = text(render_host(domain.mailhost), "postfix/virtual_alias_maps").splitlines()
    assert "keeps@bakkerij.example keeps@bakkerij.example,a@elders.example" in aliases
    assert "passes@bakkerij.example b@elders.example,c@elders.example" in aliases


def test_alias_fans_out_and_its_mailboxes_may_send_as_it(domain):
    make_mailbox(domain, "jan")
    make_mailbox(domain, "piet")
    Alias.objects.create(
        customer=domain.customer,
        domain=domain,
        local_part="team",
        destinations=["jan@bakkerij.example", "piet@bakkerij.example", "extern@elders.example"],
    )
    Alias.objects.create(
        customer=domain.customer,
        domain=domain,
        local_part="off",
        destinations=["jan@bakkerij.example"],
        is_enabled=False,
    )
    config = render_host(domain.mailhost)
    aliases = text(config, "postfix/virtual_alias_maps").splitlines()
    assert "team@bakkerij.example jan@bakkerij.example,piet@bakkerij.example,extern@elders.example" in aliases
    assert not any(line.startswith("off@") for line in aliases)
    senders = text(config, "postfix/sender_login_maps").splitlines()
    assert "team@bakkerij.example jan@bakkerij.example,piet@bakkerij.example" in senders


def test_postmaster_and_abuse_go_to_the_chosen_mailbox_unless_an_alias_says_otherwise(domain):
    jan = make_mailbox(domain, "jan")
    domain.postmaster_to = jan
    domain.abuse_to = jan
    domain.save()
    Alias.objects.create(
        customer=domain.customer, domain=domain, local_part="abuse", destinations=["x@elders.example"]
    )
    aliases = text(render_host(domain.mailhost), "postfix/virtual_alias_maps").splitlines()
    assert "postmaster@bakkerij.example jan@bakkerij.example" in aliases
    assert "abuse@bakkerij.example x@elders.example" in aliases


def test_relay_credentials_may_send_as_any_address_of_their_domains_but_have_no_mailbox(domain, other_domain):
    from relay.models import RelayCredential

    make_mailbox(domain, "jan")
    credential = RelayCredential.objects.create(
        customer=domain.customer,
        name="Webshop",
        username="webshop-1",
        secret_hash=password_hash("relay-secret"),
    )
    credential.domains.add(domain)
    RelayCredential.objects.create(
        customer=domain.customer, name="Off", username="off-1", secret_hash=password_hash(), is_enabled=False
    ).domains.add(domain)
    config = render_host(domain.mailhost)

    senders = text(config, "postfix/sender_login_maps").splitlines()
    assert "@bakkerij.example webshop-1" in senders
    assert "jan@bakkerij.example jan@bakkerij.example,webshop-1" in senders
    assert not any("off-1" in line for line in senders)
    assert not any(line.startswith("@concurrent.example") for line in senders)
    assert text(config, "dovecot/relay-users").startswith("webshop-1:{SHA512-CRYPT}$6$")
    assert "webshop-1" not in users(config)


def test_relay_logins_are_read_by_the_domains_query_not_by_every_domain_id(domain, other_domain):
    """A whole host's rendering passed its 10,000 domain ids as parameters of the credentials' query (0.1 s at
    100,000 mailboxes); the rendered domains' own query selects them in the database instead, and two
    credentials of one domain come in the order they were made, however the domains were chosen."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from relay.models import RelayCredential

    for username in ("webshop-2", "boekhouding-1"):
        RelayCredential.objects.create(
            customer=domain.customer, name=username, username=username, secret_hash=password_hash()
        ).domains.add(domain)
    with CaptureQueriesContext(connection) as queries:
        config = render_host(domain.mailhost)
    [credentials] = [  # the sender logins' query (the relay's passdb reads the hashes by another)
        q["sql"]
        for q in queries
        if "relay_relaycredential_domains" in q["sql"] and "secret_hash" not in q["sql"]
    ]
    assert "IN (SELECT" in credentials, credentials
    assert (
        "@bakkerij.example webshop-2,boekhouding-1" in text(config, "postfix/sender_login_maps").splitlines()
    )


@pytest.mark.parametrize(
    "local_part", ["evil\nx@y.example z", "a b", "x,y", "a:b", "../../etc", "a/b", "tab\there"]
)
def test_hostile_local_parts_never_reach_a_map(domain, local_part):
    make_mailbox(domain, local_part)
    Alias.objects.create(
        customer=domain.customer,
        domain=domain,
        local_part="fine",
        destinations=[f"{local_part}@elders.example"],
    )
    config = render_host(domain.mailhost)
    for rendered in config.files.values():
        assert local_part.encode() not in rendered.content
    assert config.mail_folders == set()


def test_autoresponder_scripts_exist_only_for_enabled_autoresponders(domain, monkeypatch):
    monkeypatch.setattr(
        "mailaccounts.rendering.render_autoresponder", lambda autoresponder: f"# {autoresponder.subject}\n"
    )
    jan, piet = make_mailbox(domain, "jan"), make_mailbox(domain, "piet")
    Autoresponder.objects.create(mailbox=jan, is_enabled=True, subject="Op vakantie", body="Tot maandag")
    Autoresponder.objects.create(mailbox=piet, is_enabled=False, subject="Uit", body="-")
    config = render_host(domain.mailhost)
    sieve = {path: f.content for path, f in config.files.items() if path.startswith("sieve/")}
    assert sieve == {"sieve/bakkerij.example/jan.sieve": b"# Op vakantie\n"}


def test_the_sieve_scripts_keep_their_order_when_an_autoresponder_is_edited(domain, monkeypatch):
    """The Sieve scripts come in the same order, render after render. On PostgreSQL a row written again can
    come back after the others: read without an order, the scripts changed places (seen at 100,000 mailboxes
    between two renderings of the same data, one in one process and one with a forked child)."""
    monkeypatch.setattr(
        "mailaccounts.rendering.render_autoresponder", lambda autoresponder: f"# {autoresponder.subject}\n"
    )
    responders = [
        Autoresponder.objects.create(
            mailbox=make_mailbox(domain, local), is_enabled=True, subject=f"Weg {local}", body="-"
        )
        for local in ("anna", "bram", "cees", "dirk")
    ]
    before = [path for path in render_host(domain.mailhost).files if path.startswith("sieve/")]
    assert len(before) == 4
    for responder in responders[:2]:  # new row versions, found after the others (an indexed column changes)
        box = Mailbox.objects.filter(pk=responder.mailbox_id)
        local_part = box.get().local_part
        box.update(local_part=f"{local_part}-tmp")
        box.update(local_part=local_part)
    after = [path for path in render_host(domain.mailhost).files if path.startswith("sieve/")]
    assert after == before


def test_apply_writes_files_makes_the_domain_folder_and_records_the_revision(domain):
    """A mailbox's own folder is made by Dovecot on its first delivery or login (tests/integration)."""
    from mailhosts.revisions import mark_changed

    host = domain.mailhost
    box = make_mailbox(domain, "jan")
    mark_changed(box, host=host)
    result = apply_host(host.pk)
    host.refresh_from_db()

    assert host.applied_revision == host.desired_revision == result.revision
    root = Path(host.config_dir)
    store = PartStore(root)  # the passwd-file the table is kept equal to
    assert store.read(["dovecot/users.d"])["dovecot/users.d/bakkerij.example"].startswith(
        b"jan@bakkerij.example:"
    )
    store.close()
    with sqlite3.connect(root / "dovecot/users.sqlite") as db:
        assert [user for (user,) in db.execute("SELECT username FROM users")] == ["jan@bakkerij.example"]
    assert stat.S_IMODE((root / "dovecot/users.sqlite").stat().st_mode) == 0o640
    assert (root / "mail").is_dir()  # the mail root, in which Dovecot makes a home (and its domain's folder)
    assert not (root / "mail/bakkerij.example").exists()  # on the mailbox's first delivery or login
    box.refresh_from_db()
    assert box.live_state == "live"


def test_re_applying_fills_a_lost_user_table_with_every_mailbox(domain):
    """Dovecot's table is kept by the lines that changed; "Re-apply now" after it was lost (or on a copy of
    the folder without it) makes it whole again, not only with the lines that differ from the stored ones."""
    from mailhosts.revisions import mark_changed

    host = domain.mailhost
    make_mailbox(domain, "piet")
    mark_changed(make_mailbox(domain, "jan"), host=host)
    apply_host(host.pk)
    table = Path(host.config_dir) / "dovecot/users.sqlite"
    table.unlink()
    apply_host(host.pk, force=True)
    with sqlite3.connect(table) as db:
        users = sorted(user for (user,) in db.execute("SELECT username FROM users"))
    assert users == ["jan@bakkerij.example", "piet@bakkerij.example"]
    assert stat.S_IMODE(table.stat().st_mode) == 0o640


def test_a_first_apply_fills_the_user_table_with_the_rows_of_its_passwd_files_lines(domain):
    """The first apply writes Dovecot's table from the rows the renderer made beside each line (not parsed
    back): they are exactly the rows the lines read as, disabled and deleted mailboxes left out."""
    from mailhosts.files import user_table_rows
    from mailhosts.revisions import mark_changed

    host = domain.mailhost
    other = Domain.objects.create(
        customer=domain.customer,
        name="xn--bckerei-5wa.example",
        mailhost=host,
        verification_token="t",
        verified_at=timezone.now(),
    )
    make_mailbox(domain, "jan", quota_bytes=3 * GIB)
    make_mailbox(domain, "piet.de.vries", quota_bytes=1)
    make_mailbox(domain, "uit", is_enabled=False)
    make_mailbox(domain, "weg", deleted_at=timezone.now())
    mark_changed(make_mailbox(other, "anna"), host=host)
    apply_host(host.pk)
    root = Path(host.config_dir)
    store = PartStore(root)
    passwd_files = store.read(["dovecot/users.d"])
    store.close()
    with sqlite3.connect(root / "dovecot/users.sqlite") as db:
        table = sorted(db.execute("SELECT * FROM users"))
    parsed = sorted(row for content in passwd_files.values() for row in user_table_rows(content).values())
    assert table == parsed
    assert [row[0] for row in table] == [
        "anna@xn--bckerei-5wa.example",
        "jan@bakkerij.example",
        "piet.de.vries@bakkerij.example",
    ]


def test_a_second_apply_writes_nothing_and_an_up_to_date_host_is_skipped(domain):
    from mailhosts.revisions import mark_changed

    host = domain.mailhost
    mark_changed(make_mailbox(domain, "jan"), host=host)
    apply_host(host.pk)
    written = [Path(host.config_dir) / rel for rel in ("dovecot/users.sqlite", ".postbode/parts.sqlite")]
    mtimes = [path.stat().st_mtime_ns for path in written]
    assert apply_host(host.pk).skipped
    forced = apply_host(host.pk, force=True)
    assert forced.changed_files == []
    assert [path.stat().st_mtime_ns for path in written] == mtimes


def test_purged_mailbox_loses_its_folder_and_stale_files_are_removed(domain, monkeypatch):
    from mailhosts.revisions import mark_changed

    host = domain.mailhost
    box = make_mailbox(domain, "jan")
    mark_changed(box, host=host)
    apply_host(host.pk)
    folder = Path(host.config_dir) / "mail/bakkerij.example/jan"
    (folder / "new").mkdir(parents=True)
    (folder / "new/1.eml").write_text("hello")
    stray = Path(host.config_dir) / "sieve/bakkerij.example/old.sieve"
    stray.parent.mkdir(parents=True)
    stray.write_text("# left behind")
    unrelated = Path(host.config_dir) / "mail/bakkerij.example/not-ours"
    unrelated.mkdir()

    box.deleted_at = timezone.now()
    box.save()
    mark_changed(box, host=host)
    apply_host(host.pk)
    assert folder.is_dir()  # deleted but within retention: mail kept
    assert not stray.exists()

    box.delete()
    mark_changed(domain, host=host)
    apply_host(host.pk)
    assert not folder.exists()
    assert unrelated.is_dir()  # never created by us, never removed


def test_failing_reload_step_marks_the_host_failed_and_the_next_apply_reloads(domain, tmp_path):
    from mailhosts.revisions import mark_changed

    host = domain.mailhost
    host.reload_commands = [["sh", "-c", "echo broken >&2; exit 3"]]
    host.save()
    box = make_mailbox(domain, "jan")
    mark_changed(box, host=host)
    with pytest.raises(ApplyError, match="broken"):
        apply_host(host.pk)
    host.refresh_from_db()
    box.refresh_from_db()
    assert host.applied_revision < host.desired_revision
    assert "exited with status 3: broken" in host.last_error
    assert box.live_state == "failed"

    done = tmp_path / "reloaded"
    host.reload_commands = [["touch", str(done)]]
    host.save()
    apply_host(host.pk)  # files are unchanged now, but the interrupted reload still runs
    host.refresh_from_db()
    box.refresh_from_db()
    assert done.exists()
    assert host.last_error == ""
    assert box.live_state == "live"


def test_postmap_runs_for_hash_maps_whose_db_is_stale(domain, tmp_path):
    from mailhosts.revisions import mark_changed

    log = tmp_path / "postmap.log"
    host = domain.mailhost
    host.postmap_command = [
        "sh",
        "-c",
        f'echo "$@" >> {log}; for m in "$@"; do touch "${{m#hash:}}.db"; done',
        "postmap",
    ]
    host.save()
    mark_changed(make_mailbox(domain, "jan"), host=host)
    apply_host(host.pk)
    assert log.read_text().count("hash:") == 5
    first = len(log.read_text().splitlines())
    mark_changed(make_mailbox(domain, "piet"), host=host)
    apply_host(host.pk)
    second = " ".join(log.read_text().splitlines()[first:])  # the maps are changed side by side, in any order
    assert "virtual_mailbox_maps" in second and "virtual_mailbox_domains" not in second


def test_postmap_runs_at_a_lower_priority_than_the_apply(domain, tmp_path):
    """It runs beside the apply's own work (Dovecot's table, the part store) and takes the spare core."""
    import os
    import sys

    from mailhosts.apply import POSTMAP_NICENESS
    from mailhosts.revisions import mark_changed

    logs = tmp_path / "niceness"
    logs.mkdir()
    host = domain.mailhost
    host.postmap_command = [  # reads its niceness once the apply has had time to set it; the maps are built
        "sh",  # side by side, so each run writes its own file ($$, the shell's process id)
        "-c",
        f"sleep 0.2; {sys.executable} -c 'import os; print(os.nice(0))' > {logs}/$$; touch \"${{1#hash:}}.db\"",
        "postmap",
    ]
    host.save()
    mark_changed(make_mailbox(domain, "jan"), host=host)
    apply_host(host.pk)
    niceness = [int(log.read_text()) for log in logs.iterdir()]
    assert len(niceness) == 5
    assert set(niceness) == {os.getpriority(os.PRIO_PROCESS, 0) + POSTMAP_NICENESS}


def test_a_failing_postmap_marks_the_host_failed_and_the_next_apply_builds_the_maps(domain, tmp_path):
    """`postmap` runs beside the rest of the apply, one process per map: a map that fails to build still
    fails the apply (no revision recorded as applied), and the next apply builds what is stale."""
    from mailhosts.revisions import mark_changed

    log = tmp_path / "postmap.log"
    host = domain.mailhost
    host.postmap_command = [
        "sh",
        "-c",
        f'echo "$@" >> {log}; case "$1" in *virtual_alias_maps) echo "no database" >&2; exit 2;; esac;'
        ' touch "${1#hash:}.db"',
        "postmap",
    ]
    host.save()
    box = make_mailbox(domain, "jan")
    mark_changed(box, host=host)
    with pytest.raises(ApplyError, match="no database"):
        apply_host(host.pk)
    host.refresh_from_db()
    assert host.applied_revision < host.desired_revision
    assert "virtual_alias_maps exited with status 2: no database" in host.last_error
    assert log.read_text().count("hash:") == 5  # each map its own postmap

    host.postmap_command = ["sh", "-c", f'echo "$@" >> {log}; touch "${{1#hash:}}.db"', "postmap"]
    host.save()
    apply_host(host.pk)  # nothing changed since, but the map that failed is still stale
    host.refresh_from_db()
    assert host.last_error == ""
    assert host.applied_revision == host.desired_revision
    assert log.read_text().splitlines()[-1].endswith("virtual_alias_maps")


def test_dkim_keys_of_active_keys_are_written_private(domain, monkeypatch):
    from mailaccounts.models import DkimKey

    monkeypatch.setattr(
        "mailaccounts.rendering.decrypt_private_key",
        lambda key: b"-----BEGIN PRIVATE KEY-----\n" + key.selector.encode(),
    )
    DkimKey.objects.create(
        domain=domain, selector="pb2026", private_key_encrypted="x", public_key="p", state="active"
    )
    DkimKey.objects.create(
        domain=domain, selector="pb2025", private_key_encrypted="x", public_key="p", state="retired"
    )
    host = domain.mailhost
    from mailhosts.revisions import mark_changed

    mark_changed(domain, host=host)
    apply_host(host.pk)
    root = Path(host.config_dir) / "opendkim"
    key = root / "domainkeys/bakkerij.example"  # one file per domain in one folder, not a folder per domain
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes() == b"-----BEGIN PRIVATE KEY-----\npb2026"  # the active key, not the retired one
    assert (
        root / "KeyTable"
    ).read_text() == f"pb2026._domainkey.bakkerij.example bakkerij.example:pb2026:{key}\n"
    assert (root / "SigningTable").read_text() == "*@bakkerij.example pb2026._domainkey.bakkerij.example\n"
    assert os.listdir(root / "domainkeys") == ["bakkerij.example"]


def test_quota_report_of_doveadm_is_read_in_bytes():
    report = (
        "Username\tQuota name\tType\tValue\tLimit\t%\n"
        "jan@bakkerij.example\tUser quota\tSTORAGE\t12\t1024\t1\n"
        "jan@bakkerij.example\tUser quota\tMESSAGE\t3\t-\t0\n"
    )
    assert parse_quota_report(report) == {"jan@bakkerij.example": 12 * 1024}
