"""What the panel renders for the mail hosts' webmail (webmail/rendering.py), the Roundcube stack service and
its templates, and the optional webmail.<domain> record on the DNS page."""

import hashlib
import json
import re
import shutil
import subprocess

import pytest

from mailaccounts.dnsrecords import records_for
from mailaccounts.services import mailboxes, signatures
from mailhosts.rendering import MODE_AUTH
from mailhosts.stack import DEPLOY_DIR, all_port_offsets, read_vars, render_templates
from tenants.audit import Actor
from tests.signature_files import read_signature
from webmail import rendering
from webmail.rendering import render_webmail, signature_file

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


def files_of(domain):
    return render_webmail(domain.mailhost).files


def test_roundcubes_settings_are_readable_only_by_its_php_group(domain, settings):
    rendered = files_of(domain)["webmail/roundcube.json"]
    values = json.loads(rendered.content)
    assert values["api_secret"] == settings.WEBMAIL_API_SECRET and len(values["des_key"]) == 24
    assert rendered.mode == MODE_AUTH and rendered.group == settings.WEBMAIL_PHP_GROUP


def signature_in(files, address):
    """An address's entry among the rendered files of its domain's folder (None if it has none)."""
    domain = address.rpartition("@")[2]
    entries = {}
    for path, file in files.items():
        if path.startswith(f"webmail/signatures/{domain}/"):
            entries.update(json.loads(file.content))
    return entries.get(address)


def test_each_mailbox_with_a_signature_gets_its_entry(domain, make_mailbox):
    jan = make_mailbox("jan", display_name="Jan")
    kees = make_mailbox("kees", display_name="Kees")
    off = make_mailbox("off")
    signatures.set_signature(actor=SYSTEM, mailbox=jan, name="Jan", phone="", text="Jan", html="<b>Jan</b>")
    files = files_of(domain)
    entry = signature_in(files, jan.address)
    assert {key: entry[key] for key in ("name", "text", "html")} == {
        "name": "Jan",
        "text": "Jan",
        "html": "<b>Jan</b>",
    }
    assert signature_in(files, kees.address) is None  # no signature, no template: nothing to set
    signatures.set_signature_template(actor=SYSTEM, domain=domain, text="Groet, {name}", html="")
    mailboxes.disable_mailbox(actor=SYSTEM, mailbox=off)
    files = files_of(domain)
    assert signature_in(files, kees.address)["text"] == "Groet, Kees"
    assert signature_in(files, off.address) is None
    assert files[signature_file(kees.address, 2)].group == "www-data"
    assert files[signature_file(kees.address, 2)].mode == MODE_AUTH


def test_a_signatures_version_is_the_hash_of_the_file_it_had_alone(domain, make_mailbox):
    """Roundcube sets a signature on the identity again only when its version changes; the version is the
    SHA-256 of the file each mailbox had before the files by domain, so the update re-sets nothing."""
    jan = make_mailbox("jan", display_name="Jan")
    signatures.set_signature(actor=SYSTEM, mailbox=jan, name="Jan", phone="", text="Jan ë", html="")
    entry = signature_in(files_of(domain), jan.address)
    before = json.dumps({"name": "Jan", "text": "Jan ë", "html": ""}, ensure_ascii=False).encode()
    assert entry["version"] == hashlib.sha256(before).hexdigest()
    signatures.set_signature(actor=SYSTEM, mailbox=jan, name="Jan", phone="", text="Jan e", html="")
    assert signature_in(files_of(domain), jan.address)["version"] != entry["version"]


def test_a_domains_signatures_are_one_file_or_files_by_the_addresses_hash():
    address = "Jan@Bakkerij.example"
    digest = hashlib.sha256(b"jan@bakkerij.example").hexdigest()
    folder = "webmail/signatures/bakkerij.example"
    assert signature_file(address, 1) == signature_file(address, 64) == f"{folder}/all.json"
    assert signature_file(address, 65) == signature_file(address, 1024) == f"{folder}/{digest[:1]}.json"
    assert signature_file(address, 1025) == signature_file(address, 300_000) == f"{folder}/{digest[:2]}.json"


@pytest.mark.parametrize(
    ("per_file", "file_names"), [(64, {"all.json"}), (2, set("0123456789abcdef")), (1, None)]
)
def test_every_signature_is_found_where_the_plugin_looks(
    domain, other_domain, make_mailbox, other_mailbox, tmp_path, monkeypatch, per_file, file_names
):
    """17 signatures in one file, in files by the first digit (two a file at most) and by the first two digits
    (one a file): every mailbox's entry is in the file `signature_file` names, the plugin's lookup reads it
    back, and no file holds another domain's addresses."""
    monkeypatch.setattr(rendering, "BUCKET_SIZE", per_file)
    signatures.set_signature_template(actor=SYSTEM, domain=domain, text="Groet, {name}", html="")
    signatures.set_signature(actor=SYSTEM, mailbox=other_mailbox, name="", phone="", text="Elders", html="")
    boxes = [make_mailbox(f"medewerker{number}", display_name=f"Medewerker {number}") for number in range(17)]
    files = files_of(domain)
    names = {
        path.rpartition("/")[2] for path in files if path.startswith(f"webmail/signatures/{domain.name}/")
    }
    if file_names is None:
        assert all(len(name) == len("00.json") for name in names)
    else:
        assert {name.removesuffix(".json") for name in names} <= {
            name.removesuffix(".json") for name in file_names
        }
    for path, file in files.items():
        if path.startswith("webmail/signatures/"):
            assert file.content.decode() == json.dumps(json.loads(file.content), ensure_ascii=False)
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_bytes(file.content)
            assert all(address.endswith("@" + path.split("/")[2]) for address in json.loads(file.content))
    for box in boxes:
        assert box.address in json.loads(files[signature_file(box.address, 17)].content)
        assert read_signature(tmp_path, box.address.upper())["text"] == f"Groet, {box.display_name}"
    assert read_signature(tmp_path, other_mailbox.address)["text"] == "Elders"


def test_roundcube_has_its_own_port_offset():
    assert all_port_offsets()["webmail"] == 45
    assert list(all_port_offsets().values()).count(45) == 1


def test_production_webmail_config_is_complete_php(tmp_path):
    written = render_templates(read_vars(DEPLOY_DIR / "production.vars"), tmp_path)
    config = next(path for path in written if path.name == "config.inc.php")
    text = config.read_text()
    assert "'ssl://%s:993'" in text and not re.search(r"@[A-Z_]+@", text)
    if shutil.which("php"):
        assert subprocess.run(["php", "-l", str(config)], capture_output=True).returncode == 0
        hosts = subprocess.run(
            ["php", "-r", f"include '{config}'; echo $config['imap_host'], ' ', $config['smtp_host'];"],
            capture_output=True,
            text=True,
        )
        # the host's own name by default; the plugin puts the mailbox's own mail host in for %s
        assert hosts.stdout == "ssl://mx1.postbode.nl:993 tls://%h:587"
    script = next(path for path in written if path.name == "webmail-checkpassword")
    text = script.read_text()
    assert "/var/lib/postbode/mailhost/webmail/dovecot-credentials.json" in text
    assert not re.search(r"@[A-Z_]+@", text)
    compile(text, str(script), "exec")


def test_the_dns_page_lists_webmail_as_an_optional_cname(domain, settings):
    settings.WEBMAIL_URL = "https://webmail.postbode.nl/"
    record = next(r for r in records_for(domain) if r.key == "webmail")
    assert (record.name, record.rtype, record.value) == (
        "webmail.bakkerij.example",
        "CNAME",
        "webmail.postbode.nl",
    )
    assert not record.required


def test_no_webmail_record_while_webmail_is_an_ip_address(domain, settings):
    settings.WEBMAIL_URL = "http://127.0.0.1:20045/"
    assert "webmail" not in [r.key for r in records_for(domain)]
