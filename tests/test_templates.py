"""How templates are written: no script inside markup, one confirmation pattern."""

import re
from pathlib import Path

from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def test_no_template_writes_an_inline_event_handler():
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in TEMPLATES.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if INLINE_HANDLER.search(line)
    ]
    assert offenders == []


def test_removing_a_team_member_asks_through_the_one_confirm_pattern(owner_client, member):
    page = owner_client.get("/team/").content.decode()
    assert 'data-confirm="Remove this user?"' in page
    assert "js/confirm.js" in page
