"""Template helpers of the relay pages."""

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, ngettext

from relay.models import Status
from tenants.rows import escaped, format_row, whole_percent

register = template.Library()

BADGES = {
    Status.SENT: "badge-ok",
    Status.DEFERRED: "badge-warn",
    Status.QUEUED: "badge-muted",
    Status.BOUNCED: "badge-danger",
    Status.EXPIRED: "badge-danger",
    Status.REJECTED: "badge-danger",
}


_badges: dict[tuple[str, str | None], str] = {}


@register.simple_tag
def status_badge(status: str):
    """A status's badge, made once per status and language (the relay log shows one on each of 50 rows)."""
    key = (status, get_language())
    if key not in _badges:
        label = dict(Status.choices).get(status, status)
        _badges[key] = format_html(
            '<span class="badge {}">{}</span>', BADGES.get(status, "badge-muted"), label
        )
    return _badges[key]


@register.simple_tag
def message_rows(messages) -> SafeString:
    """The relay log's table rows, written here rather than through a template loop: a page shows 50 rows of
    about 20 template lookups each, which cost the page more than its queries. The HTML is what the loop
    wrote (`tests/relay/test_message_rows.py` holds the two to the same bytes); each row's dates and
    direction label come from the view."""
    list_url = reverse("relay:message_list")
    bounce = format_html('<span class="muted">{}</span>', gettext("(bounce)"))
    notification_label = gettext("Bounce notification")
    return mark_safe(  # noqa: S308 - every value is escaped by format_row
        "".join(
            format_row(
                '\n        <tr>\n          <td><a href="{}{}/">{}</a></td>\n          <td>{}</td>\n'
                "          <td>{}</td>\n          <td>{}{}</td>\n"
                '          <td class="small">{}</td>\n        </tr>\n      ',
                list_url,
                message.pk,
                message.received_label,
                message.sender or bounce,
                _recipients(message.recipients_shown, message.recipients_more),
                status_badge(message.status),
                _notes(message.notes),
                _via(message, notification_label),
            )
            for message in messages
        )
    )


def _recipients(shown: list[str], more: int) -> SafeString:
    """The first recipients' addresses, and "and N more" (the loop's `blocktranslate count`, not escaped as it)."""
    text = ", ".join(escaped(address) for address in shown)
    if more:
        extra = ngettext("and %(extra)s more", "and %(extra)s more", more) % {"extra": more}
        text += f'{", " if shown else ""} <span class="muted">{extra}</span>'
    return mark_safe(text)  # noqa: S308 - the addresses escaped above; the translation is ours


def _notes(notes) -> SafeString:
    return mark_safe(  # noqa: S308 - escaped by format_row
        "".join(format_row('<div class="small" data-testid="message-note">{}</div>', note) for note in notes)
    )


def _via(message, notification_label: str) -> str:
    if message.bounce_of_id:
        return notification_label
    if message.credential:
        return message.credential.name
    return message.sasl_username or message.direction_label


@register.filter
def segment_height(percent) -> str:
    """The class that gives a day's segment its height (`.h-0` to `.h-100`, the Content-Security-Policy refuses
    style attributes): whole percents of the tallest day, at least one, so that a single bounce among
    thousands of sent messages still shows."""
    return f"h-{max(1, whole_percent(percent))}"


@register.simple_tag
def chart_bars(chart) -> SafeString:
    """The relay log's 14 bars of stacked status segments, as the template loop wrote them (five lookups a
    segment, up to six segments a day); `tests/relay/test_message_rows.py` holds the two to the same bytes."""
    return mark_safe(  # noqa: S308 - every value is escaped by format_row
        "".join(
            format_row(
                '\n            <div class="chart-day" title="{}: {}">\n              {}\n            </div>\n          ',
                day.long_label,
                day.total,
                mark_safe(  # noqa: S308 - escaped by format_row
                    "".join(
                        format_row(
                            '<span class="st-{} {}" title="{} – {}: {}"></span>',
                            status,
                            segment_height(percent),
                            day.month_day_label,
                            label,
                            count,
                        )
                        for status, label, count, percent in day.segments
                    )
                ),
            )
            for day in chart
        )
    )


@register.filter
def usage_class(sent, limit):
    if sent is None or not limit:
        return ""
    share = sent / limit
    return "danger" if share >= 1 else "warn" if share >= 0.8 else ""
