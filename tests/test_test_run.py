"""How the suite is spread over the cores (tests/conftest.py, pyproject.toml): nothing here times anything."""

import tomllib
from pathlib import Path

from tests.conftest import LONGEST_FIRST

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
