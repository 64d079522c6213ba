"""The mailbox list's rows are written by a tag (`postbode.mailbox_rows`): the HTML must be the template loop's
it replaced, byte for byte, in both languages and for every kind of row."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils.translation import override

# templates/mailaccounts/mailbox_list.html's table body before the rows were written by a tag, with the
# lines before the table that translated and reversed for the loop
LOOP = """{% load i18n postbode %}
{# Translated and reversed once, not per row: a page shows 50 rows (their dates and sizes are formatted in the view). #}
    {% url 'mailaccounts:mailbox_list' as list_url %}
    {% translate "Deleted" as deleted_label %}{% translate "Enabled" as enabled_label %}{% translate "Disabled" as disabled_label %}{% translate "Restore" as restore_label %}
    <table>
      <tbody>
        {% for mailbox in page.object_list %}
          <tr>
            <td><a href="{{ list_url }}{{ mailbox.pk }}/">{{ mailbox.unicode_address }}</a>
              {% if mailbox.display_name %}<br><span class="small muted">{{ mailbox.display_name }}</span>{% endif %}
              {% if mailbox.forward_to %}<br><span class="small muted">→ {{ mailbox.forward_to|join:", " }}</span>{% endif %}</td>
            <td class="num">{{ mailbox.quota_label }}</td>
            <td class="num">{{ mailbox.used_label }} <span class="small muted">({{ mailbox.used_bytes|percent_of:mailbox.quota_bytes }}%)</span></td>
            <td>{% if mailbox.deleted_at %}
              <span class="badge badge-danger">{{ deleted_label }}</span>
              <form method="post" action="{{ list_url }}{{ mailbox.pk }}/restore/" class="inline">{% csrf_token %}<button type="submit" class="link">{{ restore_label }}</button></form>
            {% elif mailbox.is_enabled %}<span class="badge badge-ok">{{ enabled_label }}</span>
            {% else %}<span class="badge badge-muted">{{ disabled_label }}</span>{% endif %}</td>
            <td>{{ mailbox.created_label }}</td>
            <td>{% live_state mailbox.live_state %}{% if mailbox.undeliverable_forwards %} {% not_applied_badge %}{% endif %}</td>
          </tr>
        {% endfor %}
      </tbody>"""


def tag_rendering() -> str:
    """The same part of today's template (its table head left out)."""
    with open("templates/mailaccounts/mailbox_list.html") as template:
        text = template.read()
    start = text.index("{#", text.index("{% if page.object_list %}"))
    head_start, head_end = text.index("      <thead>"), text.index("</tr></thead>\n") + len("</tr></thead>\n")
    end = text.index("</tbody>") + len("</tbody>")
    return "{% load i18n postbode %}\n" + text[start:head_start] + text[head_end:end]


def mailbox(pk, **fields):
    defaults = {
        "unicode_address": "info@bakkerij.example",
        "display_name": "",
        "forward_to": [],
        "quota_label": "1 GB",
        "used_label": "250 MB",
        "used_bytes": 250_000_000,
        "quota_bytes": 1_000_000_000,
        "deleted_at": None,
        "is_enabled": True,
        "created_label": "6 december 2026",
        "live_state": "live",
        "undeliverable_forwards": [],
    }
    return SimpleNamespace(pk=pk, **{**defaults, **fields})


ROWS = [
    mailbox(1),
    mailbox(12345, display_name="Jan & <Piet>", is_enabled=False, live_state="pending", used_bytes=0),
    mailbox(
        3,
        unicode_address="anna@bäckerei.example",
        forward_to=["a&b@example.org", "<c>@example.org"],
        undeliverable_forwards=["<c>@example.org"],
        live_state="failed",
        used_bytes=3_000_000_000,
    ),
    mailbox(4, deleted_at=datetime(2026, 12, 1, tzinfo=UTC), quota_bytes=0, quota_label="0 B"),
    mailbox(5, deleted_at=datetime(2026, 12, 1, tzinfo=UTC), display_name="x", forward_to=["f@x.example"]),
    mailbox(6, quota_label="<1 GB>", used_label="1,5 GB", created_label="<vandaag>", live_state="other"),
]


@pytest.mark.parametrize("rows", [ROWS, ROWS[:1], ROWS[3:4]], ids=["all kinds", "one", "deleted"])
@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_tag_writes_the_loops_html(rows, language):
    engine = engines["django"]
    request = RequestFactory().get("/mailboxes/")
    context = {"page": SimpleNamespace(object_list=rows), "csrf_token": "token<&>"}
    with override(language):
        before = engine.from_string(LOOP).render(context, request)
        after = engine.from_string(tag_rendering()).render(context, request)
    assert after == before
    assert after.count("<tr>") == len(rows)


def test_a_list_without_deleted_mailboxes_asks_no_csrf_token():
    """The restore button's token is made only for a deleted row, as `{% csrf_token %}` in its branch was."""
    asked = []

    class Token:
        def __str__(self):
            asked.append(True)
            return "t"

        def __bool__(self):
            asked.append(True)
            return True

    engine = engines["django"]
    context = {"page": SimpleNamespace(object_list=ROWS[:3]), "csrf_token": Token()}
    with override("nl"):
        engine.from_string(tag_rendering()).render(context)
    assert asked == []
