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


FORM_BY_HAND = re.compile(r"\.as_(p|div|table|ul)\b|\.label_tag\b")


def test_panel_pages_render_forms_one_way():
    """`{{ form }}` or `{{ form.field.as_field_group }}` through FORM_RENDERER's templates (templates/forms/);
    the admin's own pages keep Django admin's markup."""
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in TEMPLATES.rglob("*.html")
        if path.relative_to(TEMPLATES).parts[0] not in {"admin", "forms"}
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if FORM_BY_HAND.search(line)
    ]
    assert offenders == []


def test_a_form_shows_its_errors_fields_and_help_through_the_form_template(owner_client, domain):
    page = owner_client.post("/mailboxes/add/", {"local_part": "", "domain": domain.pk}).content.decode()
    assert '<div class="field">' in page and 'class="errorlist' in page
    # the help text is the one the input points at for screen readers
    described = re.search(r'aria-describedby="([^" ]+_helptext)', page)
    assert described and f'id="{described.group(1)}"' in page
