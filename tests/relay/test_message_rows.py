"""The relay log's rows are written by a tag (`relay_tags.message_rows`): the HTML must be the template loop's
it replaced, byte for byte, in both languages and for every kind of row."""

from types import SimpleNamespace

import pytest
from django.template import engines
from django.utils.safestring import mark_safe
from django.utils.translation import override

# templates/relay/message_list.html's table body before the rows were written by a tag
LOOP = """{% load i18n relay_tags %}    <tbody>
      {# Reversed and translated once, not per row: a page shows 50 rows (their dates are formatted in the view). #}
      {% url 'relay:message_list' as list_url %}{% translate "(bounce)" as bounce_label %}{% translate "Bounce notification" as notification_label %}
      {% for message in page.messages %}
        <tr>
          <td><a href="{{ list_url }}{{ message.pk }}/">{{ message.received_label }}</a></td>
          <td>{% if message.sender %}{{ message.sender }}{% else %}<span class="muted">{{ bounce_label }}</span>{% endif %}</td>
          <td>{% for recipient in message.recipients_shown %}{{ recipient.address }}{% if not forloop.last or message.recipients_more %}, {% endif %}{% endfor %}{% if message.recipients_more %} <span class="muted">{% blocktranslate count extra=message.recipients_more %}and {{ extra }} more{% plural %}and {{ extra }} more{% endblocktranslate %}</span>{% endif %}</td>
          <td>{% status_badge message.status %}{% for note in message.notes %}<div class="small" data-testid="message-note">{{ note }}</div>{% endfor %}</td>
          <td class="small">{% if message.bounce_of_id %}{{ notification_label }}{% elif message.credential %}{{ message.credential.name }}{% elif message.sasl_username %}{{ message.sasl_username }}{% else %}{{ message.direction_label }}{% endif %}</td>
        </tr>
      {% empty %}
        <tr><td colspan="5" class="muted">{% translate "No messages match." %}</td></tr>
      {% endfor %}
    </tbody>"""


def tag_rendering() -> str:
    """The same part of today's template."""
    with open("templates/relay/message_list.html") as template:
        text = template.read()
    start, end = text.index("    <tbody>"), text.index("</tbody>") + len("</tbody>")
    return "{% load i18n relay_tags %}" + text[start:end]


def as_the_loop_had_them(rows):
    """The rows as the view gave the loop: the shown recipients as objects (now their addresses)."""
    return [
        SimpleNamespace(
            **{**vars(row), "recipients_shown": [SimpleNamespace(address=a) for a in row.recipients_shown]}
        )
        for row in rows
    ]


def message(pk, **fields):
    defaults = {
        "received_label": "6 dec 2026 14:05",
        "sender": "factuur@klant.example",
        "recipients_shown": ["a@ontvanger.example"],
        "recipients_more": 0,
        "status": "sent",
        "notes": [],
        "bounce_of_id": None,
        "credential": None,
        "sasl_username": "",
        "direction_label": "Uitgaand",
    }
    return SimpleNamespace(pk=pk, **{**defaults, **fields})


ROWS = [
    message(1),
    message(12345, sender="", status="bounced", bounce_of_id=7),  # a bounce notification, no sender
    message(
        3,
        sender='"quoted" <x&y>@example',
        recipients_shown=[f"r{n}&<b>@example" for n in range(3)],
        recipients_more=1,
        status="deferred",
        notes=["Spam <score> 5 & more", mark_safe("<b>safe</b>")],
        credential=SimpleNamespace(name="Printer & <scanner>"),
    ),
    message(4, recipients_shown=[f"r{n}@x" for n in range(3)], recipients_more=2),
    message(5, recipients_shown=[], status="queued", sasl_username="login<1>"),
    message(6, status="unknown", credential=SimpleNamespace(name="c"), sasl_username="ignored"),
    message(7, received_label="<7 dec>", direction_label="In & out", status="rejected"),
]


@pytest.mark.parametrize("rows", [ROWS, ROWS[:1], []], ids=["all kinds", "one", "none"])
@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_tag_writes_the_loops_html(rows, language):
    engine = engines["django"]
    with override(language):
        before = engine.from_string(LOOP).render(
            {"page": SimpleNamespace(messages=as_the_loop_had_them(rows))}
        )
        after = engine.from_string(tag_rendering()).render({"page": SimpleNamespace(messages=rows)})
    assert after == before
    assert after.count("<tr>") == max(1, len(rows))


# the chart's bars in templates/relay/message_list.html before a tag wrote them
CHART_LOOP = """{% load relay_tags %}
          {% for day in chart %}
            <div class="chart-day" title="{{ day.long_label }}: {{ day.total }}">
              {% for status, label, count, percent in day.segments %}<span class="st-{{ status }} {{ percent|segment_height }}" title="{{ day.month_day_label }} – {{ label }}: {{ count }}"></span>{% endfor %}
            </div>
          {% endfor %}
        </div>"""


def chart_day(n, segments):
    return SimpleNamespace(
        long_label=f"{n} december 2026",
        month_day_label=f"{n} <december>",
        total=sum(count for _status, _label, count, _percent in segments),
        segments=segments,
    )


CHART = [
    chart_day(1, []),
    chart_day(2, [("sent", "Verzonden", 1234, 100.0)]),
    chart_day(
        3, [("sent", "Sent & more", 7, 12.5), ("deferred", "Uitgesteld", 3, 0.3), ("bounced", "x", 1, 33)]
    ),
]


@pytest.mark.parametrize("chart", [CHART, []], ids=["days", "none"])
@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_chart_tag_writes_the_loops_html(chart, language):
    with open("templates/relay/message_list.html") as template:
        text = template.read()
    start = text.index("\n", text.index('<div class="chart" role="img"'))
    end = text.index("</div>", start) + len("</div>")
    engine = engines["django"]
    with override(language):
        before = engine.from_string(CHART_LOOP).render({"chart": chart})
        after = engine.from_string("{% load relay_tags %}" + text[start:end]).render({"chart": chart})
    assert after == before
    assert after.count('class="chart-day"') == len(chart)
