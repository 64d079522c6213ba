"""An apply costs what changed (issue 22, point 6): a change renders and writes only its domain's files.

Each test applies by hand (on-commit work does not run inside a test's transaction). The strongest check is
the last one: after a series of changes applied domain by domain, rendering the whole host finds nothing
left to write, so the files written per domain are exactly what a whole rendering makes.
"""

import sqlite3
import stat
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import timezone

import mailhosts.files
from mailaccounts.models import Alias, DkimKey, Domain
from mailaccounts.services import aliases, domains, mailboxes, storage
from mailhosts.apply import (
    ASSEMBLE_MARKER,
    Index,
    IndexedFile,
    apply_host,
    index_path,
    read_index,
    write_index,
)
from mailhosts.files import PartStore, write_atomic_pieces
from mailhosts.models import MailHost, PendingChange
from mailhosts.rendering import RenderedFile, UserLines, assemble, with_user_lines
from mailhosts.revisions import bump_revision
from tenants.audit import Actor
from tests.conftest import mark_layout_before, settled

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()


@pytest.fixture
def host(domain):
    return domain.mailhost


@pytest.fixture
def third_domain(customer, host):
    return Domain.objects.create(
        customer=customer,
        name="xn--bcker-gra.example",  # bäcker.example
        mailhost=host,
        verification_token="token-baecker",
        verified_at=timezone.now(),
    )


def users_in_table(host) -> dict[str, str]:
    with sqlite3.connect(Path(host.config_dir) / "dovecot/users.sqlite") as db:
        return dict(db.execute("SELECT username, password FROM users"))


def read(host, rel: str) -> str:
    return (Path(host.config_dir) / rel).read_text()


def stored(host, rel: str) -> bytes | None:
    """A part kept in the apply's part store (parts of assembled files, Dovecot's passwd-files)."""
    store = PartStore(Path(host.config_dir))
    try:
        return store.read([rel.rpartition("/")[0]]).get(rel)
    finally:
        store.close()


def mtimes(host, *rels: str) -> list[int]:
    return [(Path(host.config_dir) / rel).stat().st_mtime_ns for rel in rels]


def test_a_password_change_writes_only_its_domains_passwd_file_and_row(
    make_mailbox, host, other_domain, other_customer
):
    jan = make_mailbox("jan")
    kees = make_mailbox("kees")
    make_mailbox("piet", owner_customer=other_customer, on_domain=other_domain)
    first = apply_host(host.pk)
    assert first.scopes is None  # a new host is rendered whole once
    untouched = mtimes(host, "postfix/virtual_alias_maps", "dovecot/users.sqlite")
    other_users = stored(host, "dovecot/users.d/concurrent.example")
    assert other_users.startswith(b"piet@concurrent.example:")
    before = users_in_table(host)

    mailboxes.set_mailbox_password(actor=SYSTEM, mailbox=jan, password="Nieuw-Wachtwoord-2026")
    result = apply_host(host.pk)

    # Only the mailbox's own line is rendered (not its domain's), and put into its domain's passwd-file.
    assert result.scopes == set()
    assert result.users == {"jan@bakkerij.example"}
    assert result.changed_files == ["dovecot/users.d/bakkerij.example"]
    assert not result.reloaded  # Dovecot reads the table on every lookup
    after = users_in_table(host)
    assert after["jan@bakkerij.example"] != before["jan@bakkerij.example"]
    assert after[kees.address] == before[kees.address]
    assert after["piet@concurrent.example"] == before["piet@concurrent.example"]
    assert stored(host, "dovecot/users.d/concurrent.example") == other_users
    assert mtimes(host, "postfix/virtual_alias_maps") == untouched[:1]
    assert mtimes(host, "dovecot/users.sqlite") != untouched[1:]  # the row, changed in place
    assert not PendingChange.objects.filter(host=host).exists()


def test_a_password_change_in_a_domain_rewrites_only_that_mailboxs_row(make_mailbox, host, monkeypatch):
    """Whatever its domain holds, a password change renders and writes one mailbox: its row of Dovecot's
    table, and its line in its domain's stored passwd-file, which then equals a whole rendering's."""
    boxes = [make_mailbox(name) for name in ("anna", "jan", "kees", "piet", "zoe")]
    apply_host(host.pk)
    written = []
    real = mailhosts.files.write_user_rows
    monkeypatch.setattr(
        "mailhosts.files.write_user_rows",
        lambda database, changed, removed, **kw: (
            written.append((set(changed), set(removed))) or real(database, changed, removed, **kw)
        ),
    )
    monkeypatch.setattr(
        "mailaccounts.rendering.load_host_data",
        lambda *args: pytest.fail("a password change rendered its whole domain"),
    )
    before = users_in_table(host)

    mailboxes.set_mailbox_password(actor=SYSTEM, mailbox=boxes[2], password="Nieuw-Wachtwoord-2026")
    result = apply_host(host.pk)

    assert result.users == {"kees@bakkerij.example"}
    assert written == [({"kees@bakkerij.example"}, {"kees@bakkerij.example"})]  # its old line, its new one
    after = users_in_table(host)
    assert {user for user in after if after[user] != before[user]} == {"kees@bakkerij.example"}
    lines = stored(host, "dovecot/users.d/bakkerij.example").decode().splitlines()
    assert [line.split(":")[0] for line in lines] == [box.address for box in boxes]  # still in order
    monkeypatch.undo()
    assert apply_host(host.pk, force=True).changed_files == []


@pytest.mark.parametrize(
    ("users", "lines", "expected"),
    [
        ({"a@x"}, b"a@x:NEW\n", b"a@x:NEW\nab@x:2\nb@x:3\n"),  # the first line
        ({"ab@x"}, b"ab@x:NEW\n", b"a@x:1\nab@x:NEW\nb@x:3\n"),  # not a@x, whose name it starts with
        ({"b@x"}, b"", b"a@x:1\nab@x:2\n"),  # the last line, gone
        ({"aa@x", "b@x"}, b"aa@x:NEW\nb@x:NEW\n", b"a@x:1\naa@x:NEW\nab@x:2\nb@x:NEW\n"),  # one new
        ({"c@x"}, b"", b"a@x:1\nab@x:2\nb@x:3\n"),  # no line before, none now
    ],
)
def test_a_users_line_is_put_in_its_place_in_the_passwd_file(users, lines, expected):
    file = RenderedFile(lines, user_table=True)
    assert with_user_lines(b"a@x:1\nab@x:2\nb@x:3\n", UserLines(file, frozenset(users))) == expected


@pytest.mark.parametrize(
    "changes",
    [
        {"b.example": b"b2\n"},  # a part that changed, in the middle
        {"a.example": None, "d.example": None},  # the first and the last gone
        {"0.example": b"0\n", "bb.example": b"bb\n", "bc.example": b"bc\n", "z.example": b"z\n"},  # new ones
        {
            "c.example": b"",
            "b.example": None,
            "ba.example": b"ba\n",
        },  # emptied, gone and new beside each other
        {"x.example": None},  # gone that was never there
    ],
)
def test_changed_parts_are_spliced_into_an_assembled_file_as_a_whole_assembly_would_put_them(
    changes, tmp_path
):
    parts = {"a.example": b"a1\na2\n", "b.example": b"b\n", "c.example": b"c\n", "d.example": b"d\n"}
    target = tmp_path / "virtual_alias_maps"
    target.write_bytes(assemble(parts))
    indexed = IndexedFile(target, Index.of_parts(parts), len(assemble(parts)))

    pieces, index, old, new = indexed.splice(changes)
    write_atomic_pieces(target, pieces, 0o644)

    after = {name: part for name, part in {**parts, **changes}.items() if part is not None}
    assert target.read_bytes() == assemble(after)
    assert index == Index.of_parts(after)
    assert old == {name: parts.get(name, b"") for name in changes}
    assert new == {name: part or b"" for name, part in changes.items()}


def test_the_part_store_holding_the_password_hashes_is_the_applys_alone(make_mailbox, host):
    make_mailbox("jan")
    apply_host(host.pk)
    database = Path(host.config_dir) / ".postbode/parts.sqlite"
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert b"jan@bakkerij.example:{" in stored(host, "dovecot/users.d/bakkerij.example")


def test_a_new_part_store_has_large_pages_and_an_existing_one_keeps_its_own(tmp_path):
    """Its rows are whole files (a chain of overflow pages each): a new store takes 16 KiB pages, a store
    made before keeps its 4 KiB pages and works as ever."""
    new = PartStore(tmp_path / "new")
    new.write({"dovecot/users.d/bakkerij.example": b"jan@bakkerij.example:{SHA512-CRYPT}x\n" * 500})
    assert new.db.execute("PRAGMA page_size").fetchone()[0] == 16384
    new.close()
    (tmp_path / "old/.postbode").mkdir(parents=True)
    with sqlite3.connect(tmp_path / "old/.postbode/parts.sqlite") as old:
        old.execute("PRAGMA page_size = 4096")
        old.execute("CREATE TABLE parts (path TEXT PRIMARY KEY, scope TEXT NOT NULL, content BLOB NOT NULL)")
        old.execute("INSERT INTO parts VALUES ('postfix/virtual_alias_maps.d/a.example', 'a.example', x'61')")
    old.close()
    store = PartStore(tmp_path / "old")
    assert store.db.execute("PRAGMA page_size").fetchone()[0] == 4096
    store.write({"postfix/virtual_alias_maps.d/b.example": b"b"})
    assert store.read(["postfix/virtual_alias_maps.d"]) == {
        "postfix/virtual_alias_maps.d/a.example": b"a",
        "postfix/virtual_alias_maps.d/b.example": b"b",
    }
    store.close()


def test_a_login_change_rendered_the_same_writes_nothing(make_mailbox, host, monkeypatch):
    jan = make_mailbox("jan")
    apply_host(host.pk)
    mtime = mtimes(host, "dovecot/users.sqlite")
    monkeypatch.setattr("mailhosts.files.write_user_rows", lambda *a, **k: pytest.fail("a row was written"))

    bump_revision(host, scope=jan.login_scope)  # a change that turned out to change nothing
    result = apply_host(host.pk)

    assert result.users == {"jan@bakkerij.example"}
    assert result.changed_files == []
    assert not result.reloaded
    assert mtimes(host, "dovecot/users.sqlite") == mtime


def test_a_quota_change_is_the_mailboxs_row_and_switching_it_off_its_domain(make_mailbox, host):
    jan = make_mailbox("jan")
    apply_host(host.pk)

    mailboxes.update_mailbox(
        actor=SYSTEM, mailbox=jan, display_name="Jan", quota_bytes=200 * storage.MB, is_enabled=True
    )
    quota = apply_host(host.pk)
    assert (quota.scopes, quota.users) == (set(), {"jan@bakkerij.example"})
    assert "storage=200000000B" in stored(host, "dovecot/users.d/bakkerij.example").decode()

    mailboxes.update_mailbox(
        actor=SYSTEM, mailbox=jan, display_name="Jan", quota_bytes=200 * storage.MB, is_enabled=False
    )
    disabled = apply_host(host.pk)
    assert (disabled.scopes, disabled.users) == ({"bakkerij.example"}, set())
    assert "jan@bakkerij.example" in read(host, "postfix/recipient_access")
    assert users_in_table(host) == {}
    assert stored(host, "dovecot/users.d/bakkerij.example") is None


def test_a_login_change_of_a_disabled_mailbox_gives_it_no_line(make_mailbox, host):
    jan = make_mailbox("jan")
    piet = make_mailbox("piet")
    mailboxes.disable_mailbox(actor=SYSTEM, mailbox=piet)
    apply_host(host.pk)

    mailboxes.set_mailbox_password(actor=SYSTEM, mailbox=piet, password="Nieuw-Wachtwoord-2026")
    mailboxes.set_mailbox_password(actor=SYSTEM, mailbox=jan, password="Ander-Wachtwoord-2026")
    result = apply_host(host.pk)

    assert result.users == {"jan@bakkerij.example", "piet@bakkerij.example"}
    assert set(users_in_table(host)) == {"jan@bakkerij.example"}
    assert apply_host(host.pk, force=True).changed_files == []


def test_a_login_change_in_a_domain_rendered_anyway_is_part_of_that_rendering(make_mailbox, host):
    jan = make_mailbox("jan")
    apply_host(host.pk)

    mailboxes.set_mailbox_password(actor=SYSTEM, mailbox=jan, password="Nieuw-Wachtwoord-2026")
    make_mailbox("kees")
    result = apply_host(host.pk)

    assert (result.scopes, result.users) == ({"bakkerij.example"}, set())
    assert set(users_in_table(host)) == {"jan@bakkerij.example", "kees@bakkerij.example"}
    assert apply_host(host.pk, force=True).changed_files == []


def test_a_new_mailbox_reaches_the_assembled_maps_beside_other_domains_entries(
    make_mailbox, host, other_domain, other_customer
):
    make_mailbox("piet", owner_customer=other_customer, on_domain=other_domain)
    apply_host(host.pk)
    other_part = stored(host, "postfix/virtual_mailbox_maps.d/concurrent.example")

    make_mailbox("jan")
    result = apply_host(host.pk)

    assert result.scopes == {"bakkerij.example"}
    assert "postfix/virtual_mailbox_maps.d/bakkerij.example" in result.changed_files
    assert "postfix/virtual_mailbox_maps" in result.changed_files
    assert read(host, "postfix/virtual_mailbox_maps") == (
        "jan@bakkerij.example bakkerij.example/jan/\npiet@concurrent.example concurrent.example/piet/\n"
    )
    assert read(host, "postfix/virtual_mailbox_domains") == "bakkerij.example OK\nconcurrent.example OK\n"
    assert stored(host, "postfix/virtual_mailbox_maps.d/concurrent.example") == other_part
    assert "postfix/virtual_mailbox_maps.d/concurrent.example" not in result.changed_files
    assert set(users_in_table(host)) == {"jan@bakkerij.example", "piet@concurrent.example"}


def test_a_removed_domain_takes_its_files_rows_and_map_entries_with_it(
    make_mailbox, host, other_domain, other_customer
):
    make_mailbox("jan")
    make_mailbox("piet", owner_customer=other_customer, on_domain=other_domain)
    apply_host(host.pk)
    root = Path(host.config_dir)

    domains.remove_domain(domain=other_domain, actor=SYSTEM)
    result = apply_host(host.pk)

    assert result.scopes == {"concurrent.example"}
    assert not (root / "dovecot/users.d/concurrent.example").exists()
    assert not (root / "postfix/virtual_alias_maps.d/concurrent.example").exists()
    assert set(users_in_table(host)) == {"jan@bakkerij.example"}
    assert "concurrent" not in read(host, "postfix/virtual_mailbox_domains")
    assert "concurrent" not in read(host, "postfix/virtual_alias_maps")


def test_an_alias_to_another_domains_mailbox_lets_that_mailbox_send_as_it(make_mailbox, host, third_domain):
    make_mailbox("jan")
    apply_host(host.pk)
    aliases.create_alias(
        actor=SYSTEM,
        customer=third_domain.customer,
        domain=third_domain,
        local_part="info",
        destinations=["jan@bakkerij.example"],
    )
    result = apply_host(host.pk)
    assert result.scopes == {third_domain.name}
    senders = read(host, "postfix/sender_login_maps").splitlines()
    assert f"info@{third_domain.name} jan@bakkerij.example" in senders


def test_a_mailbox_deleted_in_one_domain_leaves_the_aliases_of_another_that_named_it(
    make_mailbox, host, third_domain
):
    kees = make_mailbox("kees", on_domain=third_domain)
    aliases.create_alias(
        actor=SYSTEM,
        customer=host.domains.get(name="bakkerij.example").customer,
        domain=Domain.objects.get(name="bakkerij.example"),
        local_part="team",
        destinations=[kees.address],
    )
    apply_host(host.pk)
    assert "team@bakkerij.example kees@" in read(host, "postfix/sender_login_maps")

    mailboxes.delete_mailbox(actor=SYSTEM, mailbox=kees)
    result = apply_host(host.pk)

    assert result.scopes == {third_domain.name, "bakkerij.example"}
    assert "team@bakkerij.example kees@" not in read(host, "postfix/sender_login_maps")
    assert apply_host(host.pk, force=True).changed_files == []


def test_a_revision_without_a_scope_renders_the_whole_host(make_mailbox, host):
    make_mailbox("jan")
    apply_host(host.pk)
    bump_revision(host)
    assert apply_host(host.pk).scopes is None


def test_a_revision_that_recorded_nothing_renders_the_whole_host(make_mailbox, host):
    make_mailbox("jan")
    apply_host(host.pk)
    MailHost.objects.filter(pk=host.pk).update(desired_revision=host.desired_revision + 5)
    assert apply_host(host.pk).scopes is None


def test_files_not_known_to_be_at_the_hosts_applied_revision_are_rendered_whole(make_mailbox, host):
    """A folder restored from a backup, or a host made anew over an old folder: its files may hold
    domains the database no longer has, which only a whole rendering removes."""
    root = Path(host.config_dir)
    make_mailbox("jan")
    apply_host(host.pk)
    stray = "postfix/virtual_mailbox_maps.d/vergeten.example"
    store = PartStore(root)
    store.write({stray: b"oud@vergeten.example vergeten.example/oud/\n"})
    store.close()
    MailHost.objects.filter(pk=host.pk).update(applied_revision=0)

    make_mailbox("piet")
    result = apply_host(host.pk)
    assert result.scopes is None
    assert stored(host, stray) is None
    assert "vergeten" not in read(host, "postfix/virtual_mailbox_maps")


def test_parts_written_by_an_apply_that_died_are_assembled_by_the_next(make_mailbox, host, monkeypatch):
    make_mailbox("jan")
    apply_host(host.pk)
    make_mailbox("piet")

    def die(*args, **kwargs):
        raise OSError("killed")

    monkeypatch.setattr("mailhosts.apply.assemble_from_disk", die)
    with pytest.raises(OSError):
        apply_host(host.pk)
    assert (Path(host.config_dir) / ASSEMBLE_MARKER).exists()
    monkeypatch.undo()

    apply_host(host.pk)  # its parts are on disk already: nothing new to write but the assembly
    assert "piet@bakkerij.example" in read(host, "postfix/virtual_mailbox_maps")
    assert not (Path(host.config_dir) / ASSEMBLE_MARKER).exists()


def test_a_host_in_the_layout_before_scopes_is_rendered_whole_and_cleaned_up(make_mailbox, host):
    root = Path(host.config_dir)
    make_mailbox("jan")
    apply_host(host.pk)
    (root / ".postbode/layout").unlink()
    (root / "dovecot/users").write_text("old@bakkerij.example:{PLAIN}x:5000:5000::/x::\n")
    (root / "opendkim/keys").mkdir(parents=True, exist_ok=True)
    (root / "opendkim/keys/bakkerij.example.pb2025.private").write_text("old key")
    with sqlite3.connect(root / "dovecot/users.sqlite") as db:
        db.execute("INSERT INTO users VALUES ('old@bakkerij.example', '{PLAIN}x', 5000, 5000, '/x', NULL)")

    make_mailbox("piet")
    result = apply_host(host.pk)

    assert result.scopes is None
    assert not (root / "dovecot/users").exists()
    assert not (root / "opendkim/keys/bakkerij.example.pb2025.private").exists()
    assert set(users_in_table(host)) == {"jan@bakkerij.example", "piet@bakkerij.example"}
    make_mailbox("kees")
    assert apply_host(host.pk).scopes == {"bakkerij.example"}


def test_a_host_with_a_folder_per_dkim_key_is_rendered_whole_into_one_key_folder(
    make_mailbox, host, domain, monkeypatch
):
    monkeypatch.setattr(
        "mailaccounts.rendering.decrypt_private_key", lambda key: b"-----BEGIN " + key.selector.encode()
    )
    DkimKey.objects.create(
        domain=domain, selector="pb2026", private_key_encrypted="x", public_key="p", state="active"
    )
    make_mailbox("jan")
    apply_host(host.pk)
    root = Path(host.config_dir)
    # as the layout before wrote it: a folder per domain, a file per selector
    old_key = root / "opendkim/keys/bakkerij.example/pb2026.private"
    old_key.parent.mkdir(parents=True)
    old_key.write_bytes(b"-----BEGIN pb2026")
    (root / "opendkim/domainkeys/bakkerij.example").unlink()
    mark_layout_before(host, "scoped-2")

    make_mailbox("piet")
    result = apply_host(host.pk)

    assert result.scopes is None
    assert not (root / "opendkim/keys").exists()
    key = root / "opendkim/domainkeys/bakkerij.example"
    assert key.read_bytes() == b"-----BEGIN pb2026"
    assert (
        read(host, "opendkim/KeyTable")
        == f"pb2026._domainkey.bakkerij.example bakkerij.example:pb2026:{key}\n"
    )


def test_changes_applied_domain_by_domain_leave_nothing_for_a_whole_rendering(
    make_mailbox, host, other_domain, other_customer, third_domain
):
    jan = make_mailbox("jan")
    piet = make_mailbox("piet", owner_customer=other_customer, on_domain=other_domain)
    apply_host(host.pk)
    steps = [
        lambda: make_mailbox("kees", on_domain=third_domain),
        lambda: mailboxes.set_forwarding(
            actor=SYSTEM, mailbox=jan, forward_to=["buiten@elders.example"], keep_copy=False
        ),
        lambda: aliases.create_alias(
            actor=SYSTEM,
            customer=other_customer,
            domain=other_domain,
            local_part="team",
            destinations=["piet@concurrent.example", "x@elders.example"],
        ),
        lambda: aliases.set_domain_routing(
            actor=SYSTEM, domain=other_domain, catch_all_to=piet, postmaster_to=piet, abuse_to=piet
        ),
        lambda: mailboxes.set_mailbox_password(actor=SYSTEM, mailbox=piet, password="Nieuw-Wachtwoord-2026"),
        lambda: mailboxes.update_mailbox(
            actor=SYSTEM, mailbox=jan, display_name="", quota_bytes=300 * storage.MB, is_enabled=True
        ),
        lambda: mailboxes.disable_mailbox(actor=SYSTEM, mailbox=jan),
        lambda: mailboxes.delete_mailbox(actor=SYSTEM, mailbox=piet),
        lambda: aliases.delete_alias(actor=SYSTEM, alias=Alias.objects.get(local_part="team")),
        lambda: domains.remove_domain(domain=third_domain, actor=SYSTEM),
    ]
    for step in steps:
        step()
        assert apply_host(host.pk).scopes is not None

    forced = apply_host(host.pk, force=True)
    assert forced.scopes is None
    assert forced.changed_files == []


def test_an_assembled_map_whose_index_no_longer_fits_is_made_again_from_every_part(
    make_mailbox, host, other_domain, other_customer
):
    make_mailbox("jan")
    make_mailbox("piet", owner_customer=other_customer, on_domain=other_domain)
    apply_host(host.pk)
    target = Path(host.config_dir) / "postfix/virtual_mailbox_maps"
    target.write_text("handwerk@elders.example elders/\n")  # edited by hand: the index no longer fits

    make_mailbox("kees")
    apply_host(host.pk)

    assert read(host, "postfix/virtual_mailbox_maps") == (
        "jan@bakkerij.example bakkerij.example/jan/\n"
        "kees@bakkerij.example bakkerij.example/kees/\n"
        "piet@concurrent.example concurrent.example/piet/\n"
    )


def test_an_index_is_read_back_as_written_and_refused_when_it_does_not_fit_its_file(tmp_path):
    parts = {"b.example": b"b\n", "a.example": b"a1\na2\n", "c.example": b""}
    (tmp_path / "map").write_bytes(assemble(parts))
    write_index(tmp_path, "map", Index.of_parts(parts))

    indexed = read_index(tmp_path, "map")
    assert indexed is not None
    assert indexed.index.compact
    assert (indexed.index.names, list(indexed.index.offsets), list(indexed.index.lengths)) == (
        ["a.example", "b.example", "c.example"],
        [0, 6, 8],
        [6, 2, 0],
    )

    index = index_path(tmp_path, "map")
    content = index.read_bytes()
    header = content.partition(b"\n")[0]
    for broken in (
        content[:-3],  # numbers cut short
        content[: content.index(b"\0")],  # no numbers at all
        header + b"\na.example 6\nb.example 2\nc.example 0\n",  # the text rows of an earlier version
        content.replace(b"a.example\n", b""),  # a name fewer than numbers
        content.replace(header, b"1 2 3"),  # another file's header
        content.replace(b"\ncompact\n", b"\nsorted\n"),  # not a kind of index
    ):
        index.write_bytes(broken)
        assert read_index(tmp_path, "map") is None, broken

    (tmp_path / "map").write_bytes(assemble(parts) + b"#\n")  # a compact index describes the whole file
    write_index(tmp_path, "map", Index.of_parts(parts))
    assert read_index(tmp_path, "map") is None


def test_a_map_that_cannot_be_written_fails_the_apply_and_the_next_apply_makes_it_whole(
    make_mailbox, domain, host, monkeypatch
):
    """The spliced maps are written side by side: one failing fails the apply (after the others are done),
    and the next apply makes that map from every part."""
    jan = make_mailbox("jan")
    Domain.objects.filter(pk=domain.pk).update(catch_all_to=jan)  # so that a new mailbox is in every map
    apply_host(host.pk)
    make_mailbox("piet")
    written = []
    real = mailhosts.apply.write_atomic_pieces

    def failing_for_one_map(path, *args, **kwargs):
        if path.name == "sender_login_maps":
            raise OSError("disk full")
        real(path, *args, **kwargs)
        written.append(path.name)

    monkeypatch.setattr("mailhosts.apply.write_atomic_pieces", failing_for_one_map)
    with pytest.raises(OSError, match="disk full"):
        apply_host(host.pk)
    assert {"virtual_alias_maps", "virtual_mailbox_maps"} <= set(written)
    assert "piet@bakkerij.example" not in read(host, "postfix/sender_login_maps")
    monkeypatch.undo()

    apply_host(host.pk)
    assert "piet@bakkerij.example piet@bakkerij.example" in read(host, "postfix/sender_login_maps")
    assert apply_host(host.pk, force=True).changed_files == []


def test_a_changed_map_is_changed_in_place_by_its_changed_lines(make_mailbox, host, tmp_path):
    """Postfix's database of a map gets the new and removed entries (`postmap -i`, `postmap -d`), not a
    rebuild of every entry of the host."""
    import shutil
    import subprocess

    assert shutil.which("postmap"), "postmap (Debian package postfix) is needed"
    etc = tmp_path / "postfix-etc"
    etc.mkdir()
    (etc / "main.cf").write_text("compatibility_level = 3.6\n")
    settled(etc / "main.cf")
    log = tmp_path / "postmap.log"
    host.postmap_command = ["sh", "-c", f'echo "$*" >> {log}; exec postmap -c {etc} "$@"', "postmap"]
    host.save()
    jan = make_mailbox("jan")
    apply_host(host.pk)
    maps = Path(host.config_dir) / "postfix/virtual_mailbox_maps"

    def lookup(address: str) -> str:
        found = subprocess.run(
            ["postmap", "-c", str(etc), "-q", address, f"hash:{maps}"], capture_output=True
        )
        return found.stdout.decode().strip()

    log.write_text("")
    make_mailbox("piet")
    apply_host(host.pk)
    calls = log.read_text().splitlines()
    assert f"-i -r hash:{maps}" in calls
    assert f"hash:{maps}" not in calls  # no rebuild of the whole map
    assert lookup("piet@bakkerij.example") == "bakkerij.example/piet/"
    assert lookup("jan@bakkerij.example") == "bakkerij.example/jan/"

    aliases_map = Path(host.config_dir) / "postfix/virtual_alias_maps"
    mailboxes.set_forwarding(actor=SYSTEM, mailbox=jan, forward_to=["jan@elders.example"], keep_copy=True)
    apply_host(host.pk)
    found = subprocess.run(
        ["postmap", "-c", str(etc), "-q", "jan@bakkerij.example", f"hash:{aliases_map}"], capture_output=True
    )
    assert found.stdout.decode().strip() == "jan@bakkerij.example,jan@elders.example"  # replaced in place

    mailboxes.delete_mailbox(actor=SYSTEM, mailbox=jan)
    apply_host(host.pk)
    assert f"-d - hash:{maps}" in log.read_text().splitlines()
    assert lookup("jan@bakkerij.example") == ""
    assert lookup("piet@bakkerij.example") == "bakkerij.example/piet/"


def test_switching_a_domains_shared_calendar_renders_that_domain_and_the_calendar_rights(make_mailbox, host):
    from devices.rendering import RIGHTS_FILE
    from devices.services import set_shared_collections

    make_mailbox("jan")
    apply_host(host.pk)
    set_shared_collections(actor=SYSTEM, domain=Domain.objects.get(name="bakkerij.example"), enabled=True)
    result = apply_host(host.pk)
    assert result.scopes == {"bakkerij.example"}
    assert "bakkerij" in read(host, RIGHTS_FILE)


def test_dovecots_wait_counts_from_when_its_files_were_written(make_mailbox, host, monkeypatch):
    """A whole host's apply writes the files Dovecot checks by their mtime first and fills the SQLite tables
    after them (a second or more at 100,000 mailboxes): the wait for Dovecot's once-a-second check counts
    from the files, so it has passed by the time the apply ends instead of adding up to a second to it.
    (Every passwd-file of ours is a SQLite table now; a renderer may still write one Dovecot reads itself.)"""
    import mailhosts.apply
    from mailhosts.rendering import HostConfig, Renderer, _renderers

    checked = RenderedFile(b"jan@bakkerij.example:::::::\n", bump_mtime=True)
    renderer = Renderer("mtime-checked", lambda host: HostConfig(files={"mtime/userdb": checked}), ("mtime",))
    monkeypatch.setitem(_renderers, renderer.name, renderer)  # registered for this test only
    make_mailbox("jan")
    clock = [1_000_000.2]
    monkeypatch.setattr(
        mailhosts.apply, "time", SimpleNamespace(time=lambda: clock[0], monotonic=time.monotonic)
    )
    fill = mailhosts.apply.sync_stored_user_tables

    def slow_fill(*args, **kwargs):
        clock[0] += 2.5
        return fill(*args, **kwargs)

    monkeypatch.setattr(mailhosts.apply, "sync_stored_user_tables", slow_fill)
    waits = []
    monkeypatch.setattr(mailhosts.apply, "wait_for_dovecot_resync", waits.append)
    result = apply_host(host.pk, force=True)
    assert "mtime/userdb" in result.changed_files  # a file Dovecot checks by its mtime
    assert waits == [1_000_001]


@pytest.mark.parametrize("failing", ["sync_stored_user_tables", "sync_files_then_postmap"])
def test_an_apply_that_fails_writing_leaves_the_part_store_as_it_was(
    make_mailbox, host, monkeypatch, failing
):
    """The part store is written after the files and Dovecot's table: an apply that fails writing either
    stores no parts, so the next one compares with the old parts and writes the same changes again."""
    import mailhosts.apply

    jan = make_mailbox("jan")
    apply_host(host.pk)
    before = stored(host, "dovecot/users.d/bakkerij.example")
    old_hash = users_in_table(host)["jan@bakkerij.example"]
    mailboxes.set_mailbox_password(actor=SYSTEM, mailbox=jan, password="Nieuw-Wachtwoord-2026")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(mailhosts.apply, failing, broken)
    with pytest.raises(OSError, match="disk full"):
        apply_host(host.pk)
    assert stored(host, "dovecot/users.d/bakkerij.example") == before
    assert MailHost.objects.get(pk=host.pk).last_error  # visible, and the change stays pending

    monkeypatch.undo()
    apply_host(host.pk)
    jan.refresh_from_db()
    new_hash = users_in_table(host)["jan@bakkerij.example"]
    assert new_hash != old_hash and new_hash == jan.password_hash
    assert stored(host, "dovecot/users.d/bakkerij.example") != before


def test_the_applied_revision_and_its_pending_changes_are_settled_together(make_mailbox, host, monkeypatch):
    """Whoever sees a revision applied (the panel's Live) sees none of its changes still pending: the two
    are written in one transaction. Should forgetting the pending changes fail, the revision is not applied
    either, and the next apply finishes the job."""
    make_mailbox("jan")
    apply_host(host.pk)
    piet = make_mailbox("piet")
    host.refresh_from_db()
    before = host.applied_revision

    def fail(queryset):
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patch:
        patch.setattr(type(PendingChange.objects.all()), "delete", fail)
        with pytest.raises(RuntimeError):
            apply_host(host.pk)
    host.refresh_from_db()
    assert host.applied_revision == before
    assert host.state_of(piet.revision) != "live"
    assert PendingChange.objects.filter(host=host, revision=piet.revision).exists()

    apply_host(host.pk)
    host.refresh_from_db()
    assert host.state_of(piet.revision) == "live"
    assert not PendingChange.objects.filter(host=host).exists()
    assert "piet@bakkerij.example" in read(host, "postfix/virtual_mailbox_maps")
