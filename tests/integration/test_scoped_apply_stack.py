"""Applies by domain on the real stack (issue 22, point 6): Dovecot's users come from one passwd-file per
domain (in the apply's part store) kept as rows of its SQLite table, Postfix's maps are assembled from
per-domain parts, and a mailbox's home is made by Dovecot on its first delivery or login, never by the
apply.
"""

import os
import smtplib
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

import mailaccounts.rendering as mail_rendering
from mailaccounts.models import Domain
from mailaccounts.services import aliases, mailboxes
from mailhosts.apply import LOCK_NAMESPACE, HostBusy, apply_host, read_index
from mailhosts.files import PartStore
from mailhosts.models import MailHost, PendingChange
from mailhosts.rendering import render_host
from tenants.audit import Actor
from tests.integration.conftest import create_mailbox, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Herfst-Appelflap-2026"
SYSTEM = Actor.system()


@pytest.fixture
def three_domains(customer, stack_host, stack_domain):
    """bakkerij.example plus a long-named domain and an internationalised one (bäcker.example)."""
    names = ["loodgietersbedrijf-van-der-meer-en-zonen.example", "xn--bcker-gra.example"]
    others = [
        Domain.objects.create(
            customer=customer,
            name=name,
            mailhost=stack_host,
            verification_token=f"token-{name}",
            verified_at=timezone.now(),
        )
        for name in names
    ]
    return [stack_domain, *others]


def test_every_mailbox_of_several_domain_files_logs_in_and_receives_and_homes_appear_on_first_use(
    three_domains, stack_host, mail, mailstack, fresh
):
    boxes = []
    for domain, count in zip(three_domains, [3, 1, 2], strict=True):
        boxes += [create_mailbox(domain, fresh(f"m{n}"), PASSWORD) for n in range(count)]
    mail.wait_live(boxes[-1])
    store = PartStore(Path(stack_host.config_dir))  # one passwd-file per domain, kept as rows of the table
    passwd_files = store.read(["dovecot/users.d"])
    store.close()
    assert sorted(passwd_files) == sorted(f"dovecot/users.d/{domain.name}" for domain in three_domains)
    homes = {box.address: Path(mailstack.mail_dir) / box.domain.name / box.local_part for box in boxes}
    assert not any(home.exists() for home in homes.values())  # the apply made no mailbox folder

    for box in boxes:
        assert mail.imap_login_works(box.address, PASSWORD), box.address
    # Dovecot made them at the first login (its imap process, which may still be finishing after LOGOUT)
    wait_until(lambda: all(homes[box.address].is_dir() for box in boxes), what="the mailboxes' homes")

    late = create_mailbox(three_domains[2], fresh("nieuw"), PASSWORD)
    mail.wait_live(late)
    mail.deliver(mail.message(sender="klant@elders.example", to=late.address, subject="Eerste post"))
    assert mail.wait_for_inbox(late.address, PASSWORD, subject="Eerste post")["To"] == late.address
    for box in boxes:
        mail.deliver(
            mail.message(sender="klant@elders.example", to=box.address, subject=f"Voor {box.address}")
        )
    for box in boxes:
        mail.wait_for_inbox(box.address, PASSWORD, subject=f"Voor {box.address}")


def test_a_change_in_one_domain_leaves_the_others_working_and_the_maps_right(three_domains, mail, fresh):
    bakkerij, loodgieter, baecker = three_domains
    jan = create_mailbox(bakkerij, fresh("jan"), PASSWORD)
    piet = create_mailbox(loodgieter, fresh("piet"), PASSWORD)
    anna = create_mailbox(baecker, fresh("anna"), PASSWORD)
    team = aliases.create_alias(
        actor=SYSTEM,
        customer=bakkerij.customer,
        domain=loodgieter,
        local_part=fresh("team"),
        destinations=[piet.address, jan.address],
    )
    mail.wait_live(team)

    mailboxes.set_mailbox_password(actor=SYSTEM, mailbox=anna, password="Nieuw-Wachtwoord-2026")
    mailboxes.delete_mailbox(actor=SYSTEM, mailbox=jan)
    mail.wait_live(jan)
    anna.refresh_from_db()
    mail.wait_live(anna)
    assert not PendingChange.objects.filter(host=MailHost.objects.get(pk=bakkerij.mailhost_id)).exists()

    assert mail.imap_login_works(anna.address, "Nieuw-Wachtwoord-2026")
    assert not mail.imap_login_works(anna.address, PASSWORD, source="127.0.0.4")
    assert not mail.imap_login_works(jan.address, PASSWORD, source="127.0.0.5")
    assert mail.imap_login_works(piet.address, PASSWORD)

    subject = "Aan het team"
    mail.deliver(mail.message(sender="klant@elders.example", to=team.address, subject=subject))
    mail.wait_for_inbox(piet.address, PASSWORD, subject=subject)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        mail.deliver(mail.message(sender="klant@elders.example", to=jan.address, subject="Weg"))
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        mail.deliver(mail.message(sender="klant@elders.example", to=f"niemand@{baecker.name}", subject="?"))


def test_a_whole_host_with_its_maps_rendered_in_a_child_process_is_served_as_rendered_in_one(
    three_domains, stack_host, mail, fresh, settings, monkeypatch
):
    """A large host's whole apply renders the alias and sender-login maps and fills Dovecot's table in forked
    children (`MAILHOST_FORK_MIN_ROWS`, here for every host), here in a process connected to PostgreSQL as a
    worker is: the maps are those of a rendering in one process, Postfix routes by them, Dovecot finds every
    mailbox in its table, and the parent's connection is untouched."""
    boxes = [create_mailbox(domain, fresh("heel"), PASSWORD) for domain in three_domains]
    team = aliases.create_alias(
        actor=SYSTEM,
        customer=three_domains[0].customer,
        domain=three_domains[0],
        local_part=fresh("team"),
        destinations=[box.address for box in boxes],
    )
    mail.wait_live(team)
    alone = {path: file.content for path, file in render_host(stack_host).files.items()}

    settings.MAILHOST_FORK_MIN_ROWS = 0
    render = mail_rendering.routing_parts
    note = Path(stack_host.config_dir).parent / f"fork-note-{os.getpid()}"

    def noting(data):
        with open(note, "a") as out:  # closed before the child ends (with os._exit, which flushes nothing)
            out.write(f"{os.getpid()}\n")
        return render(data)

    monkeypatch.setattr(mail_rendering, "routing_parts", noting)

    def apply_here() -> bool:
        """The whole host, rendered and applied in this process, once the worker is not applying (it may
        still be busy with an apply the set-up queued after the one `wait_live` waited for)."""
        try:
            apply_host(stack_host.pk, force=True)
        except HostBusy:
            return False
        return True

    wait_until(apply_here, what="the worker to let this process apply the host")
    pids = [int(line) for line in note.read_text().split()]
    note.unlink()
    assert pids and os.getpid() not in pids
    root = Path(stack_host.config_dir)
    for path in ("virtual_alias_maps", "virtual_mailbox_maps", "sender_login_maps"):
        assert (root / "postfix" / path).read_bytes() == alone[f"postfix/{path}"], path
    assert MailHost.objects.get(pk=stack_host.pk).last_error == ""  # the connection still answers

    subject = "Na de hele toepassing"
    mail.deliver(mail.message(sender="klant@elders.example", to=team.address, subject=subject))
    for box in boxes:
        mail.wait_for_inbox(box.address, PASSWORD, subject=subject)


def test_maps_changed_in_place_are_what_postfix_routes_by(three_domains, stack_host, mail, fresh, settings):
    """Large maps are changed in place (`MAILHOST_PATCH_MIN_BYTES`, here every map): after a new mailbox (its
    domain's part moves to the end of each map), a deleted one (written over where it was) and a new alias,
    applied here while the worker waits, each map is the same file, Postfix delivers to the new mailbox
    and through the alias, refuses the deleted one, and a forced apply finds nothing to change."""
    bakkerij, loodgieter, baecker = three_domains
    # most of each map is bakkerij's, as most of a large host's maps are other domains' than a change's
    sizes = zip(three_domains, (12, 3, 3), strict=True)
    boxes = [
        create_mailbox(domain, fresh(f"vast{n}"), PASSWORD) for domain, count in sizes for n in range(count)
    ]
    mail.wait_live(boxes[-1])
    root = Path(stack_host.config_dir)
    maps = [
        root / "postfix" / name
        for name in ("virtual_alias_maps", "virtual_mailbox_maps", "sender_login_maps")
    ]

    settings.MAILHOST_PATCH_MIN_BYTES = 0
    # This process holds the host's lock (PostgreSQL's advisory locks are re-entrant within a session): the
    # worker's applies meanwhile find the host busy and retry later, so the changes are applied here.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, stack_host.pk])
    try:
        apply_host(stack_host.pk)  # anything the set-up left
        inodes = [path.stat().st_ino for path in maps]
        late = create_mailbox(baecker, fresh("laat"), PASSWORD)
        gone = boxes[0]
        mailboxes.delete_mailbox(actor=SYSTEM, mailbox=gone)
        team = aliases.create_alias(
            actor=SYSTEM,
            customer=loodgieter.customer,
            domain=loodgieter,
            local_part=fresh("ploeg"),
            destinations=[late.address, boxes[12].address],
        )
        applied = apply_host(stack_host.pk)
        forced = apply_host(stack_host.pk, force=True)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, stack_host.pk])
    assert applied.scopes == {bakkerij.name, loodgieter.name, baecker.name}
    assert forced.changed_files == []  # the same parts: the patched maps are kept as they are
    mail.wait_live(team)

    assert [path.stat().st_ino for path in maps] == inodes  # changed where they are, not written anew
    assert not any(read_index(root, f"postfix/{path.name}").index.compact for path in maps)  # patched
    subject = "Verplaatst"
    mail.deliver(mail.message(sender="klant@elders.example", to=team.address, subject=subject))
    mail.wait_for_inbox(late.address, PASSWORD, subject=subject)
    mail.wait_for_inbox(boxes[12].address, PASSWORD, subject=subject)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        mail.deliver(mail.message(sender="klant@elders.example", to=gone.address, subject="Weg"))
    for box in boxes[1:]:
        mail.deliver(
            mail.message(sender="klant@elders.example", to=box.address, subject=f"Nog {box.address}")
        )
        mail.wait_for_inbox(box.address, PASSWORD, subject=f"Nog {box.address}")
    assert [path.stat().st_ino for path in maps] == inodes
    assert MailHost.objects.get(pk=stack_host.pk).last_error == ""
