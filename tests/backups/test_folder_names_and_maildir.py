import pytest
from django.core.exceptions import ValidationError

from backups import maildir
from backups.jobs import unique_folder


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("/etc", "path"),
        ("Werk/../../etc", "path"),
        ("..", "path"),
        ("Werk//2025", "path"),
        ("Werk\\2025", "path"),
        ("Werk\x00", "control"),
        ("Werk\nINBOX", "control"),
        ("a" * 1000, "too_long"),
    ],
)
def test_an_unusable_folder_name_is_refused_with_its_reason(name, code):
    with pytest.raises(ValidationError) as raised:
        maildir.check_folder_name(name)
    assert raised.value.code == code


def test_a_nested_folder_name_is_accepted():
    assert maildir.check_folder_name("Archief/2025") == "Archief/2025"


def test_folders_map_to_maildir_plus_plus_directories():
    assert maildir.folder_dir("INBOX") == ""
    assert maildir.folder_dir("Archief/2025") == ".Archief.2025"
    assert maildir.folder_name(".Archief.2025") == "Archief/2025"


def test_a_mailbox_is_scanned_into_folders_with_counts_and_quota_sizes(tmp_path):
    root = tmp_path / "Maildir"
    (root / "cur").mkdir(parents=True)
    (root / "new").mkdir()
    (root / "cur" / "1.M1P1.host,S=100,W=104:2,S").write_bytes(b"x" * 100)
    (root / "new" / "2.M2P2.host").write_bytes(b"y" * 50)  # no size in the name: the file's size
    (root / ".Werk" / "cur").mkdir(parents=True)
    (root / ".Werk" / "cur" / "3.M3P3.host,S=10,W=11:2,").write_bytes(b"z" * 10)
    (root / ".Werk" / "tmp").mkdir()
    (root / ".Werk" / "tmp" / "half-written").write_bytes(b"w" * 999)  # never counted
    assert maildir.scan_mailbox(root) == [
        {"name": "INBOX", "messages": 2, "bytes": 154},
        {"name": "Werk", "messages": 1, "bytes": 11},
    ]


def test_a_second_restore_of_the_same_day_gets_a_folder_of_its_own():
    assert unique_folder("Hersteld 2026-12-01", ["INBOX", "Werk"]) == "Hersteld 2026-12-01"
    existing = ["INBOX", "Hersteld 2026-12-01", "Hersteld 2026-12-01/INBOX"]
    assert unique_folder("Hersteld 2026-12-01", existing) == "Hersteld 2026-12-01 (2)"
    assert (
        unique_folder("Hersteld 2026-12-01", [*existing, "Hersteld 2026-12-01 (2)/Werk"])
        == "Hersteld 2026-12-01 (3)"
    )
