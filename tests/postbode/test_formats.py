"""One date format everywhere: templates name a format of postbode/formats/<language>/formats.py, never a literal
one ("Y-m-d", "j M Y" wrote "2026-12-06" on one page, "6 Dec 2026" on the next, English in Dutch)."""

import re
from pathlib import Path

from django.conf import settings

DATE_FILTER = re.compile(r"""\|date:(["'])([^"']*)\1""")
# Values for programs rather than readers: a form's machine value, the relay chart's compact day axis.
MACHINE_VALUE = re.compile(r"""value="\{\{[^}]*\|date:'Y-m-d' \}\}\"""")
ALLOWED_LITERALS = {"j/n"}  # relay chart axis: "6/12" under each day's bar


def literal_date_formats(text: str) -> list[str]:
    text = MACHINE_VALUE.sub("", text)
    return [
        fmt
        for _, fmt in DATE_FILTER.findall(text)
        if not fmt.endswith("_FORMAT") and fmt not in ALLOWED_LITERALS
    ]


def test_templates_use_the_named_date_formats():
    found = {}
    for path in (Path(settings.BASE_DIR) / "templates").rglob("*.*"):
        if literals := literal_date_formats(path.read_text(encoding="utf-8")):
            found[str(path.relative_to(settings.BASE_DIR))] = literals
    assert not found, found


def test_the_check_finds_a_literal_format():
    assert literal_date_formats('{{ a|date:"Y-m-d H:i" }} {{ b|date:"DATE_FORMAT" }}') == ["Y-m-d H:i"]
    assert literal_date_formats("""<option value="{{ d|date:'Y-m-d' }}">{{ d|date:"DATE_FORMAT" }}""") == []
