"""The real Dovecot and Pigeonhole tools judge what the panel writes for them.

`doveadm pw -t` verifies the mailbox password hashes; `sievec` compiles every autoresponder script made
from hostile text, and `sieve-test` runs it against a message and lists what it would do.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailaccounts import passwords
from mailaccounts.sieve import header_text, render_vacation
from tests.conftest import require_service

pytestmark = pytest.mark.integration

HOSTILE = {
    "quotes": 'He said "hi"',
    "backslashes": "C:\\mail\\ \\\\ \\",
    "injection": '"; discard; #',
    "injection_keep": '";\r\nredirect "evil@example.org";\r\nkeep; #',
    "crlf": "line one\r\nline two\rline three\nline four",
    "nul": "be\x00fore\x00",
    "rtl": "\u202eevil\u202c \u200fmark\u200e",
    "emoji": "Op vakantie 🏖️ tot maandag 😀",
    "braces_and_comments": "} else { discard; } /* */ # hash",
    "multiline_syntax": "text:\n.\ndiscard;\n.\n",
    "variables": "${hex:41} ${unicode:263A} ${1}",
    "trailing_backslash": "ends with \\",
    "long": ("Lorem ipsum dolor sit amet. " * 400)[:10_000],
}


def expected_body(text: str) -> str:
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize("scheme", [passwords.SHA512_CRYPT, passwords.ARGON2ID])
def test_dovecot_itself_accepts_the_hash(scheme):
    doveadm = shutil.which("doveadm")
    require_service(doveadm is not None, "doveadm (Debian package dovecot-core)")
    hashed = passwords.hash_password("Brood-En-Banket-42", scheme=scheme)
    good = subprocess.run(
        [doveadm, "pw", "-t", hashed, "-p", "Brood-En-Banket-42"], capture_output=True, text=True
    )
    assert good.returncode == 0, good.stderr
    assert "(verified)" in good.stdout
    bad = subprocess.run([doveadm, "pw", "-t", hashed, "-p", "wrong"], capture_output=True, text=True)
    assert bad.returncode != 0


# The real Pigeonhole tools --------------------------------------------------------------------------


@pytest.fixture
def sieve_dir():
    """A directory the unprivileged mail user can read (pytest's tmp_path is private to root)."""
    require_service(shutil.which("sievec") is not None, "sievec (Debian package dovecot-sieve)")
    path = Path(tempfile.mkdtemp(prefix="postbode-sieve-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def compile_script(directory: Path, script: str) -> subprocess.CompletedProcess:
    path = directory / "script.sieve"
    path.write_text(script, encoding="utf-8")
    return subprocess.run(
        ["sievec", str(path), str(directory / "script.svbin")], capture_output=True, text=True
    )


def run_script(directory: Path, script: str) -> str:
    """`sieve-test`'s report of what the script does with one ordinary message to me@example.com."""
    require_service(shutil.which("sieve-test") is not None, "sieve-test (Debian package dovecot-sieve)")
    user = pwd.getpwnam("nobody") if os.getuid() == 0 else pwd.getpwuid(os.getuid())
    (directory / "run").mkdir(exist_ok=True)
    config = directory / "dovecot.conf"
    config.write_text(
        f"mail_uid = {user.pw_uid}\nmail_gid = {user.pw_gid}\n"
        f"mail_location = maildir:{directory}/Maildir\nbase_dir = {directory}/run\n"
        f"state_dir = {directory}/run\nlog_path = /dev/stderr\n"
    )
    message = directory / "message.eml"
    message.write_text("From: klant@example.org\nTo: me@example.com\nSubject: vraag\n\nHallo\n")
    script_path = directory / "test.sieve"
    script_path.write_text(script, encoding="utf-8")
    for path in directory.iterdir():
        path.chmod(0o755 if path.is_dir() else 0o644)
    result = subprocess.run(
        [
            "sieve-test",
            "-c",
            str(config),
            "-a",
            "me@example.com",
            "-r",
            "me@example.com",
            str(script_path),
            str(message),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_text_compiles_and_only_replies(sieve_dir, name):
    text = HOSTILE[name]
    script = render_vacation(subject=text[:200], body=text, days=2)
    compiled = compile_script(sieve_dir, script)
    assert compiled.returncode == 0, compiled.stderr
    report = run_script(sieve_dir, script)
    actions = report.split("Performed actions:")[1].split("Implicit keep:")[0]
    assert actions.count(" * ") == 1 and "send vacation message" in actions
    assert "store message in folder: INBOX" in report.split("Implicit keep:")[1]
    body = report.split("START MESSAGE\n", 1)[1].rsplit("\nEND MESSAGE", 1)[0]
    assert body == expected_body(text)
    assert f"=> subject : {header_text(text[:200])}\n" in report


def test_date_window_decides_whether_to_reply(sieve_dir):
    now = datetime.now(UTC)
    hour = timedelta(hours=1)
    inside = render_vacation(subject="s", body="b", days=1, starts_at=now - hour, ends_at=now + hour)
    before = render_vacation(subject="s", body="b", days=1, starts_at=now + hour)
    after = render_vacation(subject="s", body="b", days=1, ends_at=now - hour)
    assert "send vacation message" in run_script(sieve_dir, inside)
    assert "send vacation message" not in run_script(sieve_dir, before)
    assert "send vacation message" not in run_script(sieve_dir, after)
