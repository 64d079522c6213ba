"""Template helpers of the relay pages."""

from django import template
from django.utils.html import format_html
from django.utils.translation import get_language

from relay.models import Status

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


@register.filter
def usage_class(sent, limit):
    if sent is None or not limit:
        return ""
    share = sent / limit
    return "danger" if share >= 1 else "warn" if share >= 0.8 else ""
