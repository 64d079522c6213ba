"""How the suite is spread over the cores (tests/conftest.py, pyproject.toml): nothing here times anything."""

import ast
import tomllib
from pathlib import Path

import pytest

from tests.conftest import LONGEST_FIRST, MARKED_FOLDERS, TESTS_FOLDER, deselects_mark_whatever_else

ROOT = Path(__file__).resolve().parents[1]


def test_the_longest_tests_started_first_exist():
    """A renamed or moved walk would silently fall back to its place in collection order."""
    for nodeid in LONGEST_FIRST:
        path, _sep, name = nodeid.partition("::")
        assert f"def {name}(" in (ROOT / path).read_text(), nodeid


def test_a_worker_that_is_done_takes_over_what_waits_on_the_other():
    """`--dist load` left one worker idle for up to 3.6 s at the end of the fast set while the other still
    had tests queued; with `worksteal` the two finished within 0.2 s of each other."""
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "-n auto" in options["addopts"] and "--dist worksteal" in options["addopts"]


def test_a_kept_sqlite_template_is_copied_without_a_child_process(tmp_path, monkeypatch):
    """The controlling process copies a migrated SQLite file kept from an earlier run itself: a child process
    spent 0.8 s of CPU starting Django for it, beside the workers starting."""
    from tests import database

    monkeypatch.setattr(database, "_sqlite", lambda: True)
    monkeypatch.setattr(database, "_sqlite_cache_dir", lambda: tmp_path / "kept")
    monkeypatch.setattr(database.tempfile, "gettempdir", lambda: str(tmp_path))
    kept = database._sqlite_kept()
    kept.parent.mkdir()
    kept.write_bytes(b"migrated")
    assert database.start_building("run1") is None
    assert database.sqlite_template_path("run1").read_bytes() == b"migrated"
    database.drop_template("run1")
    assert list(tmp_path.glob("postbode-test-run1*")) == []


def test_signing_in_a_test_client_saves_no_empty_session_first(
    owner, customer, django_assert_max_num_queries
):
    """The cast's clients (tests/conftest.py `Client`) sign in with 8 statements instead of Django's 15,
    ending as Django's does: one session, holding the user, behind the client's cookie."""
    from django.conf import settings
    from django.contrib.sessions.models import Session
    from django.test import Client as DjangoClient

    from tests.conftest import Client

    with django_assert_max_num_queries(8):
        ours = Client()
        ours.force_login(owner)
    theirs = DjangoClient()
    theirs.force_login(owner)
    assert Session.objects.count() == 2
    for client in (ours, theirs):
        session = Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)
        assert session.get_decoded()["_auth_user_id"] == str(owner.pk)
    assert set(ours.session.keys()) == set(theirs.session.keys())
    assert ours.get("/").status_code == theirs.get("/").status_code


def _module_marks(path: Path) -> set[str]:
    """The marks a test module's `pytestmark` puts on all its tests (`pytest.mark.NAME`, alone or in a list)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets):
            return {
                part.attr
                for part in ast.walk(node.value)
                if isinstance(part, ast.Attribute) and getattr(part.value, "attr", None) == "mark"
            }
    return set()


def test_every_module_of_a_marked_folder_marks_all_its_tests():
    """What lets a run that deselects the mark leave the folder out (`pytest_ignore_collect` in conftest.py)."""
    for folder, mark in MARKED_FOLDERS.items():
        modules = sorted((TESTS_FOLDER / folder).glob("test_*.py"))
        assert modules, folder
        unmarked = [path.name for path in modules if mark not in _module_marks(path)]
        assert not unmarked, f"tests/{folder}: {unmarked} do not set pytestmark = pytest.mark.{mark}"


@pytest.mark.parametrize(
    "markexpr, mark, left_out",
    [
        ("not integration and not browser", "integration", True),
        ("not integration and not browser", "browser", True),
        ("not browser", "integration", False),
        ("integration", "integration", False),
        ("not integration", "integration", True),
        ("not integration or slow", "integration", False),  # a test marked both is selected
        ("not (integration and browser)", "integration", False),
        ("", "integration", False),
        ("not integration(kind=1)", "integration", False),  # marks with arguments: not decided here
        ("not (", "integration", False),  # pytest reports the error itself
    ],
)
def test_a_folder_is_left_out_only_when_the_expression_deselects_its_mark_whatever_else(
    markexpr, mark, left_out
):
    assert deselects_mark_whatever_else(markexpr, mark) is left_out
