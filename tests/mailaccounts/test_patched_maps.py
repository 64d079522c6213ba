"""Issue 22, point 6: a large Postfix hash map is changed in place, at the cost of the change.

From `MAILHOST_PATCH_MIN_BYTES` on (here 0, so every map), a map whose database `postmap -i` changes in place
is itself changed in place (`IndexedFile.patch`): a part that still fits its slot is written over, any other
goes to the end of the file, and the place it leaves becomes comment lines. The file then holds the same
entries as a whole rendering, in another order; a whole rendering keeps it when its parts are the same, a
file mostly of filler is made compact again, and a crash half-way makes the next apply build it whole.
"""

import random
import shutil
import subprocess
from pathlib import Path

import pytest

import mailhosts.apply
from mailaccounts.models import Domain
from mailaccounts.services import mailboxes
from mailhosts.apply import (
    ASSEMBLE_MARKER,
    Index,
    IndexedFile,
    apply_host,
    patch_file,
    read_index,
    write_index,
)
from mailhosts.files import write_atomic_pieces
from mailhosts.rendering import assemble, render_host
from tenants.audit import Actor
from tests.conftest import settled

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()
MAPS = ("postfix/virtual_mailbox_maps", "postfix/virtual_alias_maps", "postfix/sender_login_maps")


def entries(content: bytes) -> list[bytes]:
    """What `postmap` reads from a map's source: its lines but empty and comment lines, in any order."""
    return sorted(
        line for line in content.splitlines() if line.strip() and not line.lstrip().startswith(b"#")
    )


def test_patches_and_splices_keep_every_part_where_the_index_says_whatever_the_changes(tmp_path):
    """A random walk of changes (new, grown, shrunk, emptied and gone parts) through patches, with the
    splices that make the file compact again when it is mostly filler: after every step each part is read
    back from where the index says, and the file's entries are those of the parts assembled."""
    rng = random.Random(2026)
    names = [f"{word}{n}.example" for word in ("a", "bakker", "zz", "m") for n in range(6)]
    parts = {name: f"x@{name} y\n".encode() for name in names[:8]}
    target = tmp_path / "map"
    target.write_bytes(assemble(parts))
    write_index(tmp_path, "map", Index.of_parts(parts))
    compacted = patched = 0
    for _step in range(300):
        changes: dict[str, bytes | None] = {}
        for name in rng.sample(names, rng.randint(1, 3)):
            lines = rng.choice([0, 1, 2, 5, 30])
            changes[name] = (
                None
                if rng.random() < 0.2
                else b"".join(
                    f"u{n}-{rng.randint(0, 99)}@{name} {name}/u{n}/\n".encode() for n in range(lines)
                )
            )
        indexed = read_index(tmp_path, "map")
        assert indexed is not None
        done = indexed.patch(changes)
        if done is not None:
            writes, index, old, new = done
            inode = target.stat().st_ino
            patch_file(target, writes)
            assert target.stat().st_ino == inode  # in place
            patched += 1
        else:
            pieces, index, old, new = indexed.splice(changes)
            write_atomic_pieces(target, pieces, 0o644)
            compacted += 1
        write_index(tmp_path, "map", index)
        assert old == {name: parts.get(name) or b"" for name in changes}
        assert new == {name: content or b"" for name, content in changes.items()}
        parts = {name: part for name, part in {**parts, **changes}.items() if part is not None}

        indexed = read_index(tmp_path, "map")
        assert indexed is not None and indexed.index.names == sorted(parts)
        with target.open("rb") as file:
            assert {name: indexed.part(file, at) for at, name in enumerate(indexed.index.names)} == parts
        content = target.read_bytes()
        assert entries(content) == entries(assemble(parts))
        if indexed.index.compact:
            assert content == assemble(parts)
        assert 2 * sum(len(part) for part in parts.values()) >= len(content)  # never mostly filler
    assert patched > 200 and compacted > 5


@pytest.fixture
def postmapped(host, tmp_path, settings):
    """The host's maps built by the real `postmap`; every map changed in place. Returns a lookup."""
    assert shutil.which("postmap"), "postmap (Debian package postfix) is needed"
    etc = tmp_path / "postfix-etc"
    etc.mkdir()
    (etc / "main.cf").write_text("compatibility_level = 3.6\n")
    settled(etc / "main.cf")
    host.postmap_command = ["postmap", "-c", str(etc)]
    host.save()
    settings.MAILHOST_PATCH_MIN_BYTES = 0

    def lookup(path: str, key: str) -> str:
        source = Path(host.config_dir) / path
        found = subprocess.run(["postmap", "-c", str(etc), "-q", key, f"hash:{source}"], capture_output=True)
        return found.stdout.decode().strip()

    return lookup


@pytest.fixture
def host(domain):
    return domain.mailhost


def inodes(host) -> dict[str, int]:
    return {path: (Path(host.config_dir) / path).stat().st_ino for path in MAPS}


def assert_as_a_whole_rendering(host) -> None:
    whole = render_host(host).files
    for path in MAPS:
        assert entries((Path(host.config_dir) / path).read_bytes()) == entries(whole[path].content), path


@pytest.fixture
def neighbours(make_mailbox, other_domain, other_customer):
    """Another domain on the host with more entries than the changes below: most of each map is theirs."""
    for name in ("anna", "bram", "carla", "daan", "eva", "fleur", "gijs", "hanna"):
        make_mailbox(name, owner_customer=other_customer, on_domain=other_domain)


def test_a_new_and_a_deleted_mailbox_change_the_maps_in_place_and_postfix_finds_them(
    make_mailbox, host, postmapped, neighbours
):
    jan = make_mailbox("jan")
    make_mailbox("piet")
    apply_host(host.pk)
    before = inodes(host)

    make_mailbox("kees")
    apply_host(host.pk)
    mailboxes.delete_mailbox(actor=SYSTEM, mailbox=jan)
    apply_host(host.pk)

    assert inodes(host) == before  # not one map written anew
    assert all(not read_index(Path(host.config_dir), path).index.compact for path in MAPS)
    maps = "postfix/virtual_mailbox_maps"
    assert postmapped(maps, "kees@bakkerij.example") == "bakkerij.example/kees/"
    assert postmapped(maps, "piet@bakkerij.example") == "bakkerij.example/piet/"
    assert postmapped(maps, "jan@bakkerij.example") == ""
    assert postmapped("postfix/sender_login_maps", "kees@bakkerij.example") == "kees@bakkerij.example"
    assert_as_a_whole_rendering(host)

    forced = apply_host(host.pk, force=True)  # the same parts: the patched maps stay as they are
    assert forced.changed_files == []
    assert inodes(host) == before
    assert postmapped(maps, "kees@bakkerij.example") == "bakkerij.example/kees/"


def test_a_whole_rendering_with_other_parts_writes_a_patched_map_compact_again(
    make_mailbox, host, postmapped
):
    make_mailbox("jan")
    apply_host(host.pk)
    make_mailbox("piet")
    apply_host(host.pk)
    root = Path(host.config_dir)
    assert not read_index(root, "postfix/virtual_mailbox_maps").index.compact

    make_mailbox("kees")
    forced = apply_host(host.pk, force=True)

    assert "postfix/virtual_mailbox_maps" in forced.changed_files
    whole = render_host(host).files
    for path in MAPS:
        assert (root / path).read_bytes() == whole[path].content, path
        assert read_index(root, path).index.compact
    assert postmapped("postfix/virtual_mailbox_maps", "kees@bakkerij.example") == "bakkerij.example/kees/"


def test_a_patch_that_died_half_way_is_made_whole_by_the_next_apply(
    make_mailbox, host, postmapped, monkeypatch
):
    make_mailbox("jan")
    apply_host(host.pk)
    make_mailbox("piet")

    def dying(target, writes):
        patch_file(target, writes[:1])  # the first write only, then the worker is gone
        raise OSError("killed")

    monkeypatch.setattr(mailhosts.apply, "patch_file", dying)
    with pytest.raises(OSError, match="killed"):
        apply_host(host.pk)
    root = Path(host.config_dir)
    assert (root / ASSEMBLE_MARKER).exists()
    monkeypatch.undo()

    apply_host(host.pk)

    assert not (root / ASSEMBLE_MARKER).exists()
    whole = render_host(host).files
    for path in MAPS:
        assert (root / path).read_bytes() == whole[path].content, path
    assert postmapped("postfix/virtual_mailbox_maps", "piet@bakkerij.example") == "bakkerij.example/piet/"
    assert postmapped("postfix/virtual_mailbox_maps", "jan@bakkerij.example") == "bakkerij.example/jan/"


def test_maps_smaller_than_the_threshold_are_written_anew_in_order(
    make_mailbox, domain, host, postmapped, settings
):
    settings.MAILHOST_PATCH_MIN_BYTES = 1 << 20
    jan = make_mailbox("jan")
    Domain.objects.filter(pk=domain.pk).update(catch_all_to=jan)  # so that a new mailbox is in every map
    apply_host(host.pk)
    before = inodes(host)
    make_mailbox("piet")
    apply_host(host.pk)
    after = inodes(host)
    whole = render_host(host).files
    for path in MAPS:
        assert after[path] != before[path]
        assert (Path(host.config_dir) / path).read_bytes() == whole[path].content


def test_a_part_that_is_not_whole_lines_is_spliced_instead_of_patched(tmp_path):
    """A filler after a part without its newline would join the part's last line."""
    parts = {"a.example": b"a x\n", "b.example": b"b y\n"}
    (tmp_path / "map").write_bytes(assemble(parts))
    write_index(tmp_path, "map", Index.of_parts(parts))
    indexed = read_index(tmp_path, "map")
    assert isinstance(indexed, IndexedFile)
    assert indexed.patch({"a.example": b"a z"}) is None
    assert indexed.patch({"a.example": b"a z\n"}) is not None

    parts = {"a.example": b"a x\n", "b.example": b"b y"}  # a file that does not end its last line
    (tmp_path / "map").write_bytes(assemble(parts))
    write_index(tmp_path, "map", Index.of_parts(parts))
    indexed = read_index(tmp_path, "map")
    assert isinstance(indexed, IndexedFile)
    assert indexed.patch({"c.example": b"c w\n"}) is None

    parts = {"a.example": b"a x", "b.example": b"b y\n"}  # the part before the changed one ends mid-line
    (tmp_path / "map").write_bytes(assemble(parts))
    write_index(tmp_path, "map", Index.of_parts(parts))
    indexed = read_index(tmp_path, "map")
    assert isinstance(indexed, IndexedFile)
    assert indexed.patch({"b.example": b"b z\n"}) is None


@pytest.mark.parametrize("size", [0, 1, 2, 63, 64, 65, 129, 5000])
def test_filler_is_lines_postmap_reads_as_nothing_and_of_the_size_asked(size):
    made = mailhosts.apply.filler(size)
    assert len(made) == size
    assert entries(made) == []
    assert all(len(line) <= 64 for line in made.splitlines(keepends=True))
    assert made == b"" or made.endswith(b"\n")
