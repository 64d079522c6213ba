"""The Roundcube plugin's signature lookup (deploy/roundcube/plugins/postbode/signatures.php), run by the real
PHP on the files an apply writes: whether a domain's signatures are in one file or in files by the addresses'
hash, the plugin finds each mailbox's signature where the panel put it (the same entry `read_signature`, the
tests' twin of the lookup, finds), finds none for a mailbox without one, and reads nothing outside the
signatures' folder for an address whose domain part is not a domain name. `test_webmail.py` shows a signature
in a message composed in the real Roundcube."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from mailaccounts.services import mailboxes, signatures
from mailhosts.apply import apply_host
from mailhosts.stack import DEPLOY_DIR
from tenants.audit import Actor
from tests.conftest import require_service
from tests.signature_files import read_signature
from webmail import rendering
from webmail.rendering import SIGNATURES

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
SYSTEM = Actor.system()
LOOKUP = DEPLOY_DIR / "roundcube" / "plugins" / "postbode" / "signatures.php"


def php_lookup(folder: Path, addresses: list[str]) -> list:
    """`postbode_signature(folder, address)` of each address, by the real PHP."""
    require_service(shutil.which("php") is not None, "PHP (php-cli)")
    script = (
        f"require {json.dumps(str(LOOKUP))};"
        " foreach (array_slice($argv, 2) as $address)"
        ' { echo json_encode(postbode_signature($argv[1], $address)), "\\n"; }'
    )
    answer = subprocess.run(
        ["php", "-r", script, "--", str(folder), *addresses], capture_output=True, text=True, check=True
    )
    return [json.loads(line) for line in answer.stdout.splitlines()]


def new_mailbox(domain, local_part: str, display_name: str = ""):
    mailbox, _generated = mailboxes.create_mailbox(
        actor=SYSTEM,
        customer=domain.customer,
        domain=domain,
        local_part=local_part,
        quota_bytes=100 * mailboxes.MB,
        password="Brood-En-Banket-42",
        display_name=display_name,
    )
    return mailbox


@pytest.mark.parametrize("per_file", [64, 2, 1])
def test_the_plugin_finds_each_signature_where_the_panel_wrote_it(
    domain, other_domain, monkeypatch, per_file
):
    monkeypatch.setattr(rendering, "BUCKET_SIZE", per_file)  # one file, files by one digit, by two
    host = domain.mailhost
    signatures.set_signature_template(actor=SYSTEM, domain=domain, text="Groet, {name}", html="")
    boxes = [new_mailbox(domain, f"medewerker{number}", f"Medewerker {number}") for number in range(17)]
    other_mailbox = new_mailbox(other_domain, "piet")
    signatures.set_signature(
        actor=SYSTEM, mailbox=boxes[0], name="Eigen", phone="", text="Eigen", html="<b>Eigen</b> ë"
    )
    mailboxes.disable_mailbox(actor=SYSTEM, mailbox=boxes[1])  # no signature to set
    apply_host(host.pk)
    folder = Path(host.config_dir) / SIGNATURES

    addresses = [box.address for box in boxes] + [boxes[2].address.upper(), other_mailbox.address]
    found = php_lookup(folder, addresses)
    assert found == [read_signature(Path(host.config_dir), address) or [] for address in addresses]
    assert found[0]["html"] == "<b>Eigen</b> ë" and found[1] == []
    assert found[2]["text"] == found[17]["text"] == "Groet, Medewerker 2"
    assert found[-1] == []  # the other domain has no signatures
    names = {path.name for path in (folder / domain.name).iterdir()}
    assert (names == {"all.json"}) == (per_file == 64)

    # a file outside the signatures' folder that a domain part with "/" or ".." would reach
    hostile = ["jan@..", "jan@x/../..", f"jan@{domain.name}/../..", "jan@-", "jan", ""]
    (folder.parent / "all.json").write_text(
        json.dumps({address: {"text": "niet voor de plugin"} for address in hostile})
    )
    assert php_lookup(folder, hostile) == [[]] * len(hostile)
