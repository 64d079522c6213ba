"""Webmail's signatures by domain (issue 22, point 6): a signature changed in one domain is applied as a change
of that domain (webmail/signatures/<domain>/), not as a whole host rendering every signature again; its
signatures are in one file, or a few by the addresses' hash, not a file each."""

import hashlib
import json
from pathlib import Path

import pytest

from mailaccounts.models import MailboxSignature
from mailaccounts.services import mailboxes, signatures
from mailhosts.apply import apply_host
from tenants.audit import Actor
from tests.conftest import mark_layout_before
from tests.signature_files import read_signature
from webmail import rendering
from webmail.rendering import signature_file

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


def on_disk(host, address: str) -> dict | None:
    return read_signature(Path(host.config_dir), address)


def sign(mailbox, text: str):
    return signatures.set_signature(actor=SYSTEM, mailbox=mailbox, name="", phone="", text=text, html="")


def test_a_signature_is_a_change_of_its_domain_and_renders_only_that_domains_signatures(
    make_mailbox, other_mailbox, domain, other_domain
):
    jan = make_mailbox("jan", display_name="Jan")
    host = domain.mailhost
    sign(other_mailbox, "Groet van de concurrent")
    apply_host(host.pk)
    # changed behind the services' back: a rendering of the other domain would write it
    MailboxSignature.objects.filter(mailbox=other_mailbox).update(text="niet via de diensten")

    sign(jan, "Groet, Jan")
    result = apply_host(host.pk)
    assert result.scopes == {domain.name}
    assert on_disk(host, jan.address)["text"] == "Groet, Jan"
    assert on_disk(host, other_mailbox.address)["text"] == "Groet van de concurrent"
    assert signature_file(jan.address, 1) == f"webmail/signatures/{domain.name}/all.json"


@pytest.mark.parametrize("per_file", [64, 1])
def test_signature_changes_applied_domain_by_domain_are_what_a_whole_rendering_makes(
    make_mailbox, other_mailbox, domain, other_domain, monkeypatch, per_file
):
    """With one signature a file at most, the domain's files change from one to files by hash and back."""
    monkeypatch.setattr(rendering, "BUCKET_SIZE", per_file)
    host = domain.mailhost
    jan = make_mailbox("jan", display_name="Jan")
    kees = make_mailbox("kees", display_name="Kees")
    apply_host(host.pk, force=True)
    steps = [
        lambda: sign(jan, "Groet, Jan"),
        lambda: sign(other_mailbox, "Concurrent"),
        lambda: signatures.set_signature_template(actor=SYSTEM, domain=domain, text="Groet, {name}", html=""),
        lambda: signatures.clear_signature(actor=SYSTEM, mailbox=jan),
        lambda: mailboxes.disable_mailbox(actor=SYSTEM, mailbox=kees),
        lambda: make_mailbox("piet", display_name="Piet"),
        lambda: mailboxes.delete_mailbox(actor=SYSTEM, mailbox=jan),
        lambda: signatures.set_signature_template(actor=SYSTEM, domain=domain, text="", html=""),
    ]
    for step in steps:
        step()
        assert apply_host(host.pk).scopes is not None
        assert apply_host(host.pk, force=True).changed_files == []
    assert on_disk(host, other_mailbox.address)["text"] == "Concurrent"


def test_a_host_with_the_signatures_of_the_layout_before_is_rendered_whole_into_domain_files(
    make_mailbox, domain
):
    """Before: a file per mailbox, named by the SHA-256 of its address, in its domain's folder."""
    host = domain.mailhost
    jan = make_mailbox("jan", display_name="Jan")
    sign(jan, "Groet, Jan")
    apply_host(host.pk)
    root = Path(host.config_dir)
    new = root / signature_file(jan.address, 1)
    old = new.with_name(hashlib.sha256(jan.address.encode()).hexdigest() + ".json")
    old.write_text(json.dumps(json.loads(new.read_text())[jan.address]))
    new.unlink()
    mark_layout_before(host, "scoped-5")

    make_mailbox("kees")
    result = apply_host(host.pk)
    assert result.scopes is None
    assert not old.exists() and on_disk(host, jan.address)["text"] == "Groet, Jan"
