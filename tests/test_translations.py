"""The Dutch catalogue is complete, free of fuzzy entries, keeps every placeholder, and is actually used.

When a test here fails after you added or changed a user-facing string, regenerate and translate:

    python manage.py makemessages -l nl -l en --ignore='.venv/*' --ignore='var/*' --ignore='tests/*' \
        --ignore='bench/*' --ignore='staticfiles/*'
    # translate the new entries in locale/nl/LC_MESSAGES/django.po, drop their "#, fuzzy" flags
    python manage.py compilemessages --ignore='.venv/*'
"""

import ast
import gettext
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from tests.conftest import require_service
from tests.sources import project_files

BASE_DIR = Path(settings.BASE_DIR)
LOCALE_DIR = BASE_DIR / "locale"
NL_PO = LOCALE_DIR / "nl" / "LC_MESSAGES" / "django.po"
EN_PO = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"
MAKEMESSAGES_IGNORE = [".venv/*", "var/*", "tests/*", "bench/*", "staticfiles/*"]


# --- a small .po parser --------------------------------------------------------------------------------------


@dataclass
class Entry:
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False
    line: int = 0

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)

    @property
    def translations(self) -> list[str]:
        if self.msgid_plural is None:
            return [self.msgstr]
        return [self.msgstr_plural[n] for n in sorted(self.msgstr_plural)]

    def __str__(self) -> str:
        ctx = f" (context {self.msgctxt!r})" if self.msgctxt else ""
        return f"line {self.line}: {self.msgid!r}{ctx}"


def _unquote(text: str) -> str:
    return ast.literal_eval(text)  # a .po string is a valid Python string literal for our purposes


def parse_po(path: Path) -> tuple[Entry, list[Entry]]:
    """The header entry and the (non-obsolete) entries of a .po file."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int | None] | None = None

    def finish():
        nonlocal current, target
        if current is not None and (current.msgid or current.msgstr or current.msgid_plural):
            entries.append(current)
        elif current is not None and not entries:
            entries.append(current)  # the header: empty msgid
        current, target = None, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            finish()
            continue
        if line.startswith("#"):
            if current is not None and target is not None and target[0] == "msgstr":
                finish()  # comments start a new entry
            if current is None:
                current = Entry(line=number)
            if line.startswith("#,"):
                current.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            assert current is not None and target is not None, f"{path}:{number}: stray string"
            value = _unquote(line)
        else:
            if keyword in ("msgctxt", "msgid") and current is not None and target is not None:
                if target[0] == "msgstr":
                    finish()
            if current is None:
                current = Entry(line=number)
            current.obsolete = current.obsolete or obsolete
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if match:
                target = ("msgstr", int(match.group(1)))
            elif keyword in ("msgctxt", "msgid", "msgid_plural", "msgstr"):
                target = (keyword, None)
            else:
                raise AssertionError(f"{path}:{number}: unexpected {keyword!r}")
            value = _unquote(rest)
            if target[1] is not None:
                current.msgstr_plural.setdefault(target[1], "")
            elif keyword == "msgctxt":
                current.msgctxt = ""
            elif keyword == "msgid_plural":
                current.msgid_plural = ""
        name, index = target
        if index is not None:
            current.msgstr_plural[index] += value
        elif name == "msgctxt":
            current.msgctxt += value
        elif name == "msgid_plural":
            current.msgid_plural += value
        else:
            setattr(current, name, getattr(current, name) + value)
    finish()
    header = entries[0] if entries and entries[0].msgid == "" else Entry()
    body = [e for e in entries if e.msgid != "" and not e.obsolete]
    return header, body


def header_fields(header: Entry) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in header.msgstr.splitlines() if ": " in line)


# --- placeholders ----------------------------------------------------------------------------------------------

PERCENT = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGcuo%]")
BRACES = re.compile(r"(?<!\{)\{[A-Za-z_][A-Za-z0-9_]*(?:[.:!][^{}]*)?\}(?!\})")
TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)\b[^>]*>")
BLOCK_VARIABLE = re.compile(r"\{\{\s*[^}]+\}\}")


def placeholders(text: str, flags: set[str]) -> Counter:
    found = Counter()
    if "python-format" in flags or "no-python-format" not in flags:
        found.update(f"percent:{p}" for p in PERCENT.findall(text))
    if "python-brace-format" in flags:
        found.update(f"brace:{p}" for p in BRACES.findall(text))
    found.update(f"tag:{m.group(0).split()[0].rstrip('>').lower()}" for m in TAG.finditer(text))
    found.update(f"variable:{p}" for p in BLOCK_VARIABLE.findall(text))
    return found


# --- the tests ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dutch():
    return parse_po(NL_PO)


def test_catalogues_exist_and_are_compiled(dutch):
    for po in (NL_PO, EN_PO):
        assert po.exists(), f"{po} is missing"
        assert po.with_suffix(".mo").exists(), f"{po.with_suffix('.mo')} is missing: run compilemessages"
    with NL_PO.with_suffix(".mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    _, entries = dutch
    stale = []
    for e in entries:
        if e.msgid_plural is None:
            got = compiled.pgettext(e.msgctxt, e.msgid) if e.msgctxt else compiled.gettext(e.msgid)
            if got != e.msgstr:
                stale.append(str(e))
        else:
            for n, index in ((1, 0), (2, 1)):
                if e.msgctxt:
                    got = compiled.npgettext(e.msgctxt, e.msgid, e.msgid_plural, n)
                else:
                    got = compiled.ngettext(e.msgid, e.msgid_plural, n)
                if got != e.msgstr_plural.get(index):
                    stale.append(str(e))
    assert not stale, "the compiled .mo differs from the .po; run compilemessages:\n" + "\n".join(stale)


def test_header_declares_dutch_plural_forms(dutch):
    header, _ = dutch
    fields = header_fields(header)
    assert fields.get("Language") == "nl"
    assert fields.get("Plural-Forms") == "nplurals=2; plural=(n != 1);"
    assert fields.get("Content-Type") == "text/plain; charset=UTF-8"
    assert "fuzzy" not in header.flags


def test_dutch_catalogue_has_no_untranslated_entries(dutch):
    _, entries = dutch
    assert len(entries) > 100
    untranslated = [str(e) for e in entries if not all(t.strip() for t in e.translations)]
    assert not untranslated, "untranslated entries in the Dutch catalogue:\n" + "\n".join(untranslated)
    plural_forms = [
        str(e) for e in entries if e.msgid_plural is not None and sorted(e.msgstr_plural) != [0, 1]
    ]
    assert not plural_forms, "plural entries need msgstr[0] and msgstr[1]:\n" + "\n".join(plural_forms)


def test_dutch_catalogue_has_no_fuzzy_entries(dutch):
    _, entries = dutch
    fuzzy = [str(e) for e in entries if "fuzzy" in e.flags]
    assert not fuzzy, (
        "fuzzy entries in the Dutch catalogue (check them, then remove the flag):\n" + "\n".join(fuzzy)
    )


def test_dutch_translations_keep_the_placeholders(dutch):
    _, entries = dutch
    wrong = []
    for e in entries:
        sources = [e.msgid] if e.msgid_plural is None else [e.msgid, e.msgid_plural]
        for index, text in enumerate(e.translations):
            source = sources[min(index, len(sources) - 1)]
            expected, actual = placeholders(source, e.flags), placeholders(text, e.flags)
            if expected != actual:
                wrong.append(f"{e}: expected {dict(expected)}, got {dict(actual)} in {text!r}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_dutch_translations_keep_leading_and_trailing_newlines(dutch):
    _, entries = dutch
    wrong = [
        str(e)
        for e in entries
        for t in e.translations
        if e.msgid.startswith("\n") != t.startswith("\n") or e.msgid.endswith("\n") != t.endswith("\n")
    ]
    assert not wrong, "msgid and msgstr must both start/end with a newline or neither:\n" + "\n".join(wrong)


def test_english_catalogue_lists_the_same_messages(dutch):
    _, nl_entries = dutch
    _, en_entries = parse_po(EN_PO)
    assert {e.key for e in en_entries} == {e.key for e in nl_entries}


def test_placeholder_check_catches_mistakes():
    assert placeholders("%(name)s was removed.", {"python-format"}) != placeholders(
        "%(naam)s is verwijderd.", {"python-format"}
    )
    assert placeholders("<strong>%(a)s</strong>", {"python-format"}) != placeholders(
        "%(a)s", {"python-format"}
    )
    assert placeholders("{name} left", {"python-brace-format"}) != placeholders(
        "{naam}", {"python-brace-format"}
    )


# --- the catalogue is used ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected", "unexpected"),
    [
        ("nl", "Wachtwoord vergeten?", "Forgot your password?"),
        ("en", "Forgot your password?", "Wachtwoord vergeten?"),
    ],
)
def test_login_page_follows_accept_language(client, db, settings, language, expected, unexpected):
    settings.LANGUAGE_CODE = "nl"
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<html lang="{language}">' in page
    assert expected in page and unexpected not in page


@pytest.mark.parametrize(
    ("language", "expected", "unexpected"),
    [
        (
            "nl",
            ["Overzicht", "Uitloggen", "Aandachtspunten", "Domein toevoegen"],
            ["Log out", "Needs attention"],
        ),
        ("en", ["Dashboard", "Log out", "Needs attention", "Add domain"], ["Uitloggen", "Aandachtspunten"]),
    ],
)
def test_dashboard_uses_our_catalogue(client, owner, customer, settings, language, expected, unexpected):
    settings.LANGUAGE_CODE = "nl"
    client.force_login(owner)
    by_header = client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    other = "en" if language == "nl" else "nl"
    by_cookie = client.get("/", HTTP_ACCEPT_LANGUAGE=other).content.decode()
    for page in (by_header, by_cookie):
        assert f'<html lang="{language}">' in page
        for text in expected:
            assert text in page
        for text in unexpected:
            assert text not in page


def test_default_language_is_dutch(client, owner, customer, settings):
    settings.LANGUAGE_CODE = "nl"
    client.force_login(owner)
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="").content.decode()
    assert '<html lang="nl">' in page and "Uitloggen" in page


# --- the catalogue is complete ----------------------------------------------------------------------------------


def _copy_ignore(directory, names):
    top = Path(directory).resolve() == BASE_DIR.resolve()
    skipped = {".git", "__pycache__", ".pytest_cache", ".ruff_cache", "node_modules", "test-artifacts"}
    if top:
        skipped |= {".venv", "var", "tests", "bench", "staticfiles", "locale"}
    return [name for name in names if name in skipped or name.endswith((".mo", ".pyc"))]


def test_catalogue_has_every_message_makemessages_would_extract(tmp_path):
    require_service(shutil.which("xgettext") is not None, "gettext (xgettext)")
    project = tmp_path / "project"
    shutil.copytree(BASE_DIR, project, ignore=_copy_ignore, symlinks=True)
    (project / "locale").mkdir()
    command = [sys.executable, "manage.py", "makemessages", "-l", "nl", "--no-location"]
    command += [f"--ignore={pattern}" for pattern in MAKEMESSAGES_IGNORE]
    result = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    _, extracted = parse_po(project / "locale" / "nl" / "LC_MESSAGES" / "django.po")
    _, committed = parse_po(NL_PO)
    committed_keys = {e.key for e in committed}
    missing = sorted(repr(e.msgid) for e in extracted if e.key not in committed_keys)
    assert extracted, "makemessages extracted nothing"
    assert not missing, (
        f"{len(missing)} message(s) are not in {NL_PO.relative_to(BASE_DIR)}; run makemessages and translate them:\n"
        + "\n".join(missing)
    )
    committed_plurals = {e.key: e.msgid_plural for e in committed}
    changed = sorted(repr(e.msgid) for e in extracted if committed_plurals.get(e.key) != e.msgid_plural)
    assert not changed, "plural forms changed; run makemessages:\n" + "\n".join(changed)


def test_allauth_pages_use_our_wording(client, db, settings):
    """tenants/allauth_messages.py: allauth's pages say "Inloggen" and "Tweestapsverificatie", like ours."""
    settings.LANGUAGE_CODE = "nl"
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Inloggen" in page and "Aanmelden" not in page
    with translation.override("nl"):
        assert translation.gettext("Two-Factor Authentication") == "Tweestapsverificatie"
        assert translation.gettext("Sign Out") == "Uitloggen"


def test_catalogues_pass_msgfmt_check(tmp_path):
    require_service(shutil.which("msgfmt") is not None, "gettext (msgfmt)")
    for po in (NL_PO, EN_PO):
        result = subprocess.run(
            ["msgfmt", "--check", "-o", str(tmp_path / "out.mo"), str(po)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr


# Names makemessages (xgettext with Django's keywords) extracts from Python: a translation function imported
# under any other name (`gettext_lazy as _lazy`) marks nothing, and its strings stay English on Dutch pages.
EXTRACTED_NAMES = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
}


def test_translation_functions_are_imported_under_names_makemessages_extracts():
    wrong = []
    skip = {".venv", "var", "tests", "bench", "staticfiles", "node_modules"}
    for path in project_files(BASE_DIR, (".py",), skip=skip, anywhere=False):
        relative = path.relative_to(BASE_DIR)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
                wrong += [
                    f"{relative}:{node.lineno}: {alias.name} as {alias.asname}"
                    for alias in node.names
                    if alias.asname and alias.asname not in EXTRACTED_NAMES and "gettext" in alias.name
                ]
    assert not wrong, "makemessages does not see strings marked with these names:\n" + "\n".join(wrong)


def test_dutch_says_je_never_u(dutch):
    """The panel and its e-mails speak informally: "je" and "jouw", never "u", "uw" or "alstublieft" (a.u.b.)
    beside them."""
    _, entries = dutch
    formal = [
        str(e)
        for e in entries
        for t in e.translations
        if re.search(r"\b([Uu]w|[Uu])\b|\ba\.u\.b\.|\b[Aa]lstublieft\b", t)
    ]
    assert not formal, "formal Dutch in the catalogue:\n" + "\n".join(formal)
