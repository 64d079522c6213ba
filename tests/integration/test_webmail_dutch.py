"""Webmail in Dutch says "je", as the panel does: Roundcube's own Dutch says "u", and the postbode plugin puts
our wording over each of its sentences that addresses the reader (deploy/roundcube/plugins/postbode/
localization/informal/nl_NL.inc). Read with PHP from the installed Roundcube, so that a Roundcube update with a
new formal sentence fails here; tests/integration/test_webmail.py checks the texts a real session gets."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_service

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
ROUNDCUBE = Path("/usr/share/roundcube")
PLUGIN = ROOT / "deploy" / "roundcube" / "plugins" / "postbode"
INFORMAL = PLUGIN / "localization" / "informal" / "nl_NL.inc"
# "u", "uw", "U", "Uw" as a word, "alstublieft", "a.u.b.", "gelieve": how Dutch addresses a reader formally
FORMAL = re.compile(r"(?:^|[\s(>'\"])(?:[Uu]w?|a\.u\.b\.|[Aa]lstublieft|[Gg]elieve)(?=[\s,.!?:;<)'\"]|$)")

READ = """<?php
$out = [];
foreach (array_slice($argv, 1) as $spec) {
    [$prefix, $file] = explode('=', $spec, 2);
    $labels = []; $messages = [];
    if (is_file($file)) { include $file; }
    foreach (array_merge($labels, $messages) as $key => $text) { $out[$prefix . $key] = $text; }
}
echo json_encode($out, JSON_UNESCAPED_UNICODE);
"""


def read_texts(tmp_path, *specs: str) -> dict[str, str]:
    """Localization files as Roundcube reads them (PHP), "prefix=path" each: {prefix + key: text}."""
    script = tmp_path / "read.php"
    script.write_text(READ)
    run = subprocess.run(["php", str(script), *specs], capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def enabled_plugins() -> list[str]:
    config = (ROOT / "deploy" / "roundcube" / "config.inc.php").read_text()
    listed = re.search(r"\$config\['plugins'\] = \[(.*?)\];", config, re.S).group(1)
    return re.findall(r"'([a-z_]+)'", listed)


@pytest.fixture
def roundcube_dutch(tmp_path):
    """Every Dutch text of the webmail: Roundcube's own and that of each plugin the configuration enables."""
    require_service(bool(shutil.which("php")) and (ROUNDCUBE / "program").is_dir(), "php and Roundcube")
    specs = [f"={ROUNDCUBE}/program/localization/nl_NL/{name}.inc" for name in ("labels", "messages")]
    for plugin in enabled_plugins():
        folder = PLUGIN if plugin == "postbode" else ROUNDCUBE / "plugins" / plugin
        prefix = (
            "" if plugin == "postbode" else f"{plugin}."
        )  # ours are read as the plugin's own, unprefixed here
        specs.append(f"{prefix}={folder}/localization/nl_NL.inc")
    texts = read_texts(tmp_path, *specs)
    assert len(texts) > 800 and "password.nopassword" in texts  # the files were there and read
    return texts, read_texts(tmp_path, f"={INFORMAL}")


def test_no_dutch_sentence_of_the_webmail_says_u(roundcube_dutch):
    texts, informal = roundcube_dutch
    shown = texts | informal  # the plugin merges ours over Roundcube's
    formal = {key: text for key, text in shown.items() if FORMAL.search(text)}
    assert not formal, formal
    assert FORMAL.search(
        texts["deletemessagesconfirm"]
    )  # Roundcube's own Dutch, as it comes: "Weet u zeker …"


def test_each_of_our_sentences_replaces_one_of_roundcubes_with_the_same_placeholders(roundcube_dutch):
    texts, informal = roundcube_dutch
    assert len(informal) >= 50
    assert set(informal) <= set(texts), set(informal) - set(texts)  # a key Roundcube renamed shows here
    for key, ours in informal.items():
        theirs = texts[key]
        assert sorted(re.findall(r"\$\w+", ours)) == sorted(re.findall(r"\$\w+", theirs)), key
        assert (ours.count("\n"), ours.count("\\n")) == (theirs.count("\n"), theirs.count("\\n")), key
        assert re.findall(r"<[^>]+>", ours) == re.findall(r"<[^>]+>", theirs), key
