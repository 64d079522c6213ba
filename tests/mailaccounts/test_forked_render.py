"""A whole host's Postfix maps rendered in a forked child process beside the rest (`mailhosts/forking.py`,
`MAILHOST_FORK_MIN_ROWS`): the same files as rendered in one process, a failure in the child fails the
apply with its reason and changes nothing, and a child no longer wanted is stopped."""

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from django.db.models import F

import mailaccounts.rendering as mail_rendering
import mailhosts.apply
import mailhosts.rendering
from mailaccounts.models import Alias, Autoresponder, Domain
from mailhosts.apply import apply_host
from mailhosts.files import PartStore
from mailhosts.forking import Beside, ForkedCallFailed, GoAhead
from mailhosts.models import MailHost
from mailhosts.rendering import HostConfig, Renderer, render_host

from .test_render import make_domain, make_mailbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def host_with_everything(domain, customer):
    """Two domains with mailboxes (one disabled, one forwarding), aliases, a catch-all and an autoresponder."""
    other = make_domain(customer, "xn--bcker-gra.example", domain.mailhost)
    jan = make_mailbox(domain, "jan")
    make_mailbox(domain, "piet", is_enabled=False)
    make_mailbox(domain, "kees", forward_to=["kees@elders.example"], forward_keep_copy=True)
    anna = make_mailbox(other, "anna")
    Alias.objects.create(
        customer=customer, domain=domain, local_part="info", destinations=[jan.address, anna.address]
    )
    Domain.objects.filter(pk=domain.pk).update(catch_all_to=jan)
    Autoresponder.objects.create(mailbox=anna, subject="Weg", body="Tot maandag.", is_enabled=True)
    MailHost.objects.filter(pk=domain.mailhost_id).update(desired_revision=F("desired_revision") + 1)
    return MailHost.objects.get(pk=domain.mailhost_id)


def contents(config) -> dict[str, tuple]:
    return {path: (file.content, file.mode, file.owner, file.group) for path, file in config.files.items()}


def note_where_called(monkeypatch, owner, name: str, note: Path) -> Path:
    """Make `owner.name` write the id of the process it is called in to `note` (then do its work)."""
    function = getattr(owner, name)

    def noting(*args):
        note.write_text(str(os.getpid()))
        return function(*args)

    monkeypatch.setattr(owner, name, noting)
    return note


def where_rendered(monkeypatch, tmp_path) -> Path:
    """Make the maps' renderer note the process it ran in; returns the note's file."""
    return note_where_called(monkeypatch, mail_rendering, "routing_parts", tmp_path / "pid")


def test_the_maps_rendered_in_a_child_are_the_files_rendered_in_one_process(
    host_with_everything, settings, monkeypatch, tmp_path
):
    settings.MAILHOST_FORK_MIN_ROWS = 10**9
    alone = render_host(host_with_everything)
    settings.MAILHOST_FORK_MIN_ROWS = 0
    note = where_rendered(monkeypatch, tmp_path)
    forked = render_host(host_with_everything)

    assert int(note.read_text()) != os.getpid()  # the maps were rendered in another process
    assert list(forked.files) == list(alone.files)
    assert contents(forked) == contents(alone)
    assert forked.mail_folders == alone.mail_folders and forked.known_folders == alone.known_folders
    assert "info@bakkerij.example jan@bakkerij.example,anna@xn--bcker-gra.example\n" in (
        forked.files["postfix/virtual_alias_maps"].content.decode()
    )


def test_a_small_host_and_a_partial_rendering_stay_in_one_process(
    host_with_everything, settings, monkeypatch, tmp_path
):
    note = where_rendered(monkeypatch, tmp_path)
    settings.MAILHOST_FORK_MIN_ROWS = 5  # the host has 4 mailboxes
    render_host(host_with_everything)
    assert int(note.read_text()) == os.getpid()
    settings.MAILHOST_FORK_MIN_ROWS = 0
    render_host(host_with_everything, frozenset({"bakkerij.example"}))
    assert int(note.read_text()) == os.getpid()


def test_a_failure_in_the_child_fails_the_apply_with_its_reason_and_writes_nothing(
    host_with_everything, settings, monkeypatch
):
    settings.MAILHOST_FORK_MIN_ROWS = 0

    def broken(data):
        raise ValueError("a map could not be rendered")

    monkeypatch.setattr(mail_rendering, "routing_parts", broken)
    with pytest.raises(ForkedCallFailed, match="ValueError: a map could not be rendered"):
        apply_host(host_with_everything.pk)
    host = MailHost.objects.get(pk=host_with_everything.pk)
    assert "ValueError: a map could not be rendered" in host.last_error
    assert host.applied_revision < host.desired_revision  # still pending, retried by the next apply
    assert not (Path(host.config_dir) / "postfix").exists()

    monkeypatch.undo()
    settings.MAILHOST_FORK_MIN_ROWS = 0
    apply_host(host.pk)  # the retry
    host.refresh_from_db()
    assert host.last_error == "" and host.applied_revision == host.desired_revision
    assert "info@bakkerij.example" in (Path(host.config_dir) / "postfix" / "virtual_alias_maps").read_text()


def test_a_child_that_dies_without_an_answer_is_a_failure_that_says_so():
    def dies():
        os._exit(3)

    with pytest.raises(ForkedCallFailed, match="without an answer \\(exit status 3\\)"):
        Beside(dies).result()


def test_a_child_no_longer_wanted_is_stopped_and_reaped():
    with pytest.raises(RuntimeError, match="the parent failed"), Beside(time.sleep, 60) as child:
        pid = child.pid
        raise RuntimeError("the parent failed")
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # gone, and reaped


def test_without_fork_the_function_runs_here_and_raises_its_own_error():
    assert Beside(sorted, [3, 1, 2], fork=False).result() == [1, 2, 3]
    with pytest.raises(ZeroDivisionError):
        Beside(lambda: 1 / 0, fork=False).result()


def test_when_no_process_can_be_made_the_work_is_done_here(monkeypatch):
    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    call = Beside(os.getpid)
    assert call.pid == 0 and call.result() == os.getpid()


def test_the_child_finishes_its_work_when_the_service_is_stopped():
    """A service stop sends SIGTERM to every process of the worker: the child's work is not cut short by it
    (the worker's warm shutdown lets the apply end); the parent decides."""

    def slow_sum():
        time.sleep(0.15)
        return 42

    with Beside(slow_sum) as child:
        time.sleep(0.05)
        os.kill(child.pid, signal.SIGTERM)
        assert child.result() == 42


def table_rows(root: Path) -> list[tuple]:
    with sqlite3.connect(root / "dovecot" / "users.sqlite") as db:
        return sorted(db.execute("SELECT * FROM users"))


def stored_parts(root: Path) -> dict[str, bytes]:
    store = PartStore(root)
    try:
        return store.read(["dovecot/users.d", "postfix/virtual_alias_maps.d"])
    finally:
        store.close()


def test_dovecot_s_table_filled_by_a_child_while_the_files_are_written_is_the_same_table(
    host_with_everything, settings, monkeypatch, tmp_path
):
    """A whole large host's Dovecot table fills in a child process beside the file writing: the same rows
    and the same part store as an apply in one process."""
    settings.MAILHOST_FORK_MIN_ROWS = 10**9
    alone = tmp_path / "alone"
    MailHost.objects.filter(pk=host_with_everything.pk).update(config_dir=str(alone))
    apply_host(host_with_everything.pk, force=True)

    settings.MAILHOST_FORK_MIN_ROWS = 0
    note = note_where_called(monkeypatch, mailhosts.apply, "sync_stored_user_tables", tmp_path / "table-pid")
    forked = tmp_path / "forked"
    MailHost.objects.filter(pk=host_with_everything.pk).update(config_dir=str(forked))
    apply_host(host_with_everything.pk, force=True)

    assert int(note.read_text()) != os.getpid()
    assert len(table_rows(forked)) == 3  # jan, kees, anna (piet is disabled)
    assert anonymous(table_rows(forked), forked) == anonymous(table_rows(alone), alone)
    assert anonymous(stored_parts(forked), forked) == anonymous(stored_parts(alone), alone)


def anonymous(value, root: Path):
    """`value` with the host's folder (in the mailboxes' homes) taken out."""
    if isinstance(value, dict):
        return {key: anonymous(item, root) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(anonymous(item, root) for item in value)
    if isinstance(value, bytes):
        return value.replace(str(root).encode(), b"ROOT")
    if isinstance(value, str):
        return value.replace(str(root), "ROOT")
    return value


def test_a_failure_filling_dovecot_s_table_in_the_child_stores_no_parts(
    host_with_everything, settings, monkeypatch
):
    """The part store still comes last: when the child filling Dovecot's table fails, the apply fails with
    its reason, no part is stored, and the next apply writes everything."""
    settings.MAILHOST_FORK_MIN_ROWS = 0

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(mailhosts.apply, "sync_stored_user_tables", broken)
    with pytest.raises(ForkedCallFailed, match="OSError: disk full"):
        apply_host(host_with_everything.pk)
    root = Path(host_with_everything.config_dir)
    assert stored_parts(root) == {}
    assert "disk full" in MailHost.objects.get(pk=host_with_everything.pk).last_error

    monkeypatch.undo()
    settings.MAILHOST_FORK_MIN_ROWS = 0
    apply_host(host_with_everything.pk)
    assert len(table_rows(root)) == 3
    assert "dovecot/users.d/bakkerij.example" in stored_parts(root)


def test_the_child_writes_the_part_store_and_commits_only_once_the_files_are_in_place(
    host_with_everything, settings, monkeypatch, tmp_path
):
    """The child that fills Dovecot's table also writes the part store's rows meanwhile, but its transaction
    commits only when the parent has written the files: when writing them fails after the child's rows
    are in, no part is stored, and the next apply writes everything."""
    settings.MAILHOST_FORK_MIN_ROWS = 0
    waiting = note_where_called(monkeypatch, GoAhead, "wait", tmp_path / "child-waiting")

    def broken(*args):
        deadline = time.monotonic() + 10
        while not waiting.exists() and time.monotonic() < deadline:  # the child's rows are written now
            time.sleep(0.01)
        raise OSError("no space left on device")

    monkeypatch.setattr(mailhosts.apply, "sync_files_then_postmap", broken)
    with pytest.raises(OSError, match="no space left"):
        apply_host(host_with_everything.pk)
    assert int(waiting.read_text()) != os.getpid()  # the child had written its rows and was waiting
    root = Path(host_with_everything.config_dir)
    assert stored_parts(root) == {}
    assert MailHost.objects.get(pk=host_with_everything.pk).applied_revision == 0

    monkeypatch.undo()
    settings.MAILHOST_FORK_MIN_ROWS = 0
    apply_host(host_with_everything.pk)
    assert "dovecot/users.d/bakkerij.example" in stored_parts(root)
    assert "info@bakkerij.example" in (root / "postfix" / "virtual_alias_maps").read_text()


def test_a_child_waiting_for_the_go_ahead_hears_no_when_the_parent_ends_without_giving_it():
    with GoAhead() as go, Beside(go.wait) as child:
        go.close()  # as when the parent dies: its end of the pipe is closed
        assert child.result() is False
    with GoAhead() as go, Beside(go.wait) as child:
        go.give()
        assert child.result() is True
    with GoAhead() as go:  # unforked, the function runs after the answer was given
        go.give(yes=False)
        assert Beside(go.wait, fork=False).result() is False


def renderer_noting(note: Path, *, fails: bool = False, beside: bool = False) -> Renderer:
    """A renderer, asked after the mail accounts', that notes when it is asked (and fails, if so told)."""

    def render(host):
        note.write_text(f"asked {os.getpid()}")
        if fails:
            raise RuntimeError("another renderer failed")
        return HostConfig()

    return Renderer("zz-noting", render, beside=beside)


def test_the_other_renderers_are_asked_while_the_maps_are_made_beside(
    host_with_everything, settings, monkeypatch, tmp_path
):
    """A whole large host's alias and sender-login maps are still being made in the child when the other
    capabilities render their files: the child waits here until one of them was asked."""
    settings.MAILHOST_FORK_MIN_ROWS = 0
    asked, seen = tmp_path / "asked", tmp_path / "seen"
    monkeypatch.setitem(mailhosts.rendering._renderers, "zz-noting", renderer_noting(asked))
    render = mail_rendering.routing_parts

    def waiting(data):
        deadline = time.monotonic() + 10
        while not asked.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.write_text(f"{os.getpid()} {asked.exists()}")
        return render(data)

    monkeypatch.setattr(mail_rendering, "routing_parts", waiting)
    config = render_host(host_with_everything)
    pid, had_been_asked = seen.read_text().split()
    assert int(pid) != os.getpid() and had_been_asked == "True"
    assert "info@bakkerij.example" in config.files["postfix/virtual_alias_maps"].content.decode()
    assert "postfix/virtual_alias_maps.d/bakkerij.example" in config.files


def test_with_the_in_memory_test_database_the_renderers_marked_beside_render_in_this_process(
    host_with_everything, settings, monkeypatch, tmp_path
):
    """A child's own connection would find an in-memory SQLite database empty, so the renderers that read the
    database stay here (on PostgreSQL they render in a child: tests/integration/test_render_beside_postgres.py);
    the maps, made from rows already read, still go to a child."""
    settings.MAILHOST_FORK_MIN_ROWS = 0
    asked = tmp_path / "asked"
    monkeypatch.setitem(mailhosts.rendering._renderers, "zz-noting", renderer_noting(asked, beside=True))
    maps = where_rendered(monkeypatch, tmp_path)
    render_host(host_with_everything)
    assert asked.read_text() == f"asked {os.getpid()}"
    assert int(maps.read_text()) != os.getpid()


def test_a_renderer_failing_while_the_maps_are_made_beside_stops_the_child(
    host_with_everything, settings, monkeypatch, tmp_path
):
    settings.MAILHOST_FORK_MIN_ROWS = 0
    child = tmp_path / "child"
    monkeypatch.setitem(
        mailhosts.rendering._renderers, "zz-noting", renderer_noting(tmp_path / "asked", fails=True)
    )

    def slow(data):
        child.write_text(str(os.getpid()))
        time.sleep(60)

    monkeypatch.setattr(mail_rendering, "routing_parts", slow)
    with pytest.raises(RuntimeError, match="another renderer failed"):
        render_host(host_with_everything)
    deadline = time.monotonic() + 10
    while not child.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(ProcessLookupError):  # stopped and reaped, not left sleeping
        os.kill(int(child.read_text()), 0)
