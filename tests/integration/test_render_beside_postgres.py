"""A large host's whole rendering on PostgreSQL: the renderers marked `beside` (OpenDKIM, the relay, the spam
filter, calendars, backups, webmail) render in a forked child with a database connection of its own while this
process reads and renders the mail accounts (`mailhosts.rendering.render_host`). The same files as rendered
in one process; the parent's session is untouched and the child's is closed; a failure there fails the
rendering with its reason; inside a transaction nothing is forked (a child would not see its rows)."""

import os
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.db.models import F

import mailaccounts.rendering as mail_rendering
import mailhosts.rendering
from mailaccounts.crypto import encrypt_private_key
from mailaccounts.models import Alias, DkimKey, MailboxSignature
from mailhosts.forking import ForkedCallFailed
from mailhosts.models import MailHost
from mailhosts.rendering import Renderer, render_host
from spamfilter.models import DomainSpamPolicy
from tests.mailaccounts.test_forked_render import contents
from tests.mailaccounts.test_render import make_domain, make_mailbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BESIDE = ("opendkim", "relay", "spamfilter", "devices", "backups", "webmail")


@pytest.fixture
def host(postgres, domain, customer):
    """Two domains with mailboxes, an alias, a DKIM key, a spam filter setting and a signature: a file for
    each renderer."""
    other = make_domain(customer, "xn--bcker-gra.example", domain.mailhost)
    jan = make_mailbox(domain, "jan")
    anna = make_mailbox(other, "anna")
    Alias.objects.create(customer=customer, domain=domain, local_part="info", destinations=[jan.address])
    DkimKey.objects.create(
        domain=domain,
        selector="pb2026",
        private_key_encrypted=encrypt_private_key(b"-----BEGIN PRIVATE KEY-----\npb2026"),
        public_key="p",
        state=DkimKey.State.ACTIVE,
    )
    DomainSpamPolicy.objects.create(domain=other, reject_score=12)
    MailboxSignature.objects.create(mailbox=anna, name="Anna", text="Groet, Anna")
    MailHost.objects.filter(pk=domain.mailhost_id).update(desired_revision=F("desired_revision") + 1)
    return MailHost.objects.get(pk=domain.mailhost_id)


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def note_where_rendered(monkeypatch, notes: Path) -> None:
    """Make every renderer write `<process id> <database session's process id>` to notes/<its name>."""
    notes.mkdir()
    for name, renderer in list(mailhosts.rendering._renderers.items()):

        def noting(host, _render=renderer.render, _name=name):
            (notes / _name).write_text(f"{os.getpid()} {backend_pid()}")
            return _render(host)

        monkeypatch.setitem(
            mailhosts.rendering._renderers, name, Renderer(**{**vars(renderer), "render": noting})
        )


def where(notes: Path, name: str) -> tuple[int, int]:
    process, session = (notes / name).read_text().split()
    return int(process), int(session)


def test_the_renderers_marked_beside_render_in_a_child_with_its_own_session_and_make_the_same_files(
    host, settings, monkeypatch, tmp_path
):
    settings.MAILHOST_FORK_MIN_ROWS = 10**9
    alone = render_host(host)
    settings.MAILHOST_FORK_MIN_ROWS = 2  # the host has 2 mailboxes
    note_where_rendered(monkeypatch, tmp_path / "notes")
    session = backend_pid()
    forked = render_host(host)

    assert contents(forked) == contents(alone)
    assert forked.mail_folders == alone.mail_folders and forked.known_folders == alone.known_folders
    assert b"pb2026._domainkey.bakkerij.example" in forked.files["opendkim/KeyTable"].content
    assert any(path.startswith("webmail/signatures/") for path in forked.files)

    assert where(tmp_path / "notes", "mailaccounts") == (os.getpid(), session)
    children = {where(tmp_path / "notes", name) for name in BESIDE}
    assert len(children) == 1  # one child, one session for all of them
    [(child, child_session)] = children
    assert child != os.getpid() and child_session != session
    assert backend_pid() == session  # this process's session went on, untouched
    deadline = time.monotonic() + 10  # and the child closed its own before it ended
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [child_session])
            if cursor.fetchone()[0] == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [child_session])
        assert cursor.fetchone()[0] == 0


def test_a_small_host_renders_every_renderer_in_this_process(host, settings, monkeypatch, tmp_path):
    settings.MAILHOST_FORK_MIN_ROWS = 3  # the host has 2 mailboxes
    note_where_rendered(monkeypatch, tmp_path / "notes")
    render_host(host)
    assert {where(tmp_path / "notes", name)[0] for name in BESIDE} == {os.getpid()}


def test_inside_a_transaction_nothing_renders_in_a_child_that_could_not_see_its_rows(
    host, settings, monkeypatch, tmp_path
):
    settings.MAILHOST_FORK_MIN_ROWS = 0
    note_where_rendered(monkeypatch, tmp_path / "notes")
    with transaction.atomic():
        DkimKey.objects.filter(domain__name="bakkerij.example").update(selector="pb2027")
        config = render_host(host)
    assert {where(tmp_path / "notes", name)[0] for name in BESIDE} == {os.getpid()}
    assert b"pb2027._domainkey.bakkerij.example" in config.files["opendkim/KeyTable"].content


def test_a_renderer_failing_in_the_child_fails_the_rendering_and_stops_the_maps_child(
    host, settings, monkeypatch, tmp_path
):
    settings.MAILHOST_FORK_MIN_ROWS = 0
    maps_child = tmp_path / "maps-child"

    def failing(host):
        raise RuntimeError("the calendar files could not be made")

    def slow(data):
        maps_child.write_text(str(os.getpid()))
        time.sleep(60)

    monkeypatch.setitem(
        mailhosts.rendering._renderers, "zz-failing", Renderer("zz-failing", failing, beside=True)
    )
    monkeypatch.setattr(mail_rendering, "routing_parts", slow)
    session = backend_pid()
    with pytest.raises(ForkedCallFailed, match="RuntimeError: the calendar files could not be made"):
        render_host(host)
    assert backend_pid() == session
    deadline = time.monotonic() + 10
    while not maps_child.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(ProcessLookupError):  # stopped and reaped, not left sleeping
        os.kill(int(maps_child.read_text()), 0)
