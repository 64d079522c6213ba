"""What the panel renders for the mail hosts' webmail (webmail/rendering.py), the Roundcube stack service and
its templates, and the optional webmail.<domain> record on the DNS page."""

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
from webmail.rendering import render_webmail, signature_path

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


def files_of(domain):
    return render_webmail(domain.mailhost).files


def test_roundcubes_settings_are_readable_only_by_its_php_group(domain, settings):
    rendered = files_of(domain)["webmail/roundcube.json"]
    values = json.loads(rendered.content)
    assert values["api_secret"] == settings.WEBMAIL_API_SECRET and len(values["des_key"]) == 24
    assert rendered.mode == MODE_AUTH and rendered.group == settings.WEBMAIL_PHP_GROUP


def test_each_mailbox_with_a_signature_gets_its_file(domain, make_mailbox):
    jan = make_mailbox("jan", display_name="Jan")
    kees = make_mailbox("kees", display_name="Kees")
    off = make_mailbox("off")
    signatures.set_signature(actor=SYSTEM, mailbox=jan, name="Jan", phone="", text="Jan", html="<b>Jan</b>")
    files = files_of(domain)
    assert json.loads(files[signature_path(jan.address)].content) == {
        "name": "Jan",
        "text": "Jan",
        "html": "<b>Jan</b>",
    }
    assert signature_path(kees.address) not in files  # no signature, no template: nothing to set
    signatures.set_signature_template(actor=SYSTEM, domain=domain, text="Groet, {name}", html="")
    mailboxes.disable_mailbox(actor=SYSTEM, mailbox=off)
    files = files_of(domain)
    assert json.loads(files[signature_path(kees.address)].content)["text"] == "Groet, Kees"
    assert signature_path(off.address) not in files
    assert files[signature_path(kees.address)].group == "www-data"


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
