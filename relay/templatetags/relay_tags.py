"""Template helpers of the relay pages."""

from django import template
from django.utils.html import format_html

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


@register.simple_tag
def status_badge(status: str):
    label = dict(Status.choices).get(status, status)
    return format_html('<span class="badge {}">{}</span>', BADGES.get(status, "badge-muted"), label)


@register.filter
def usage_class(sent, limit):
    if sent is None or not limit:
        return ""
    share = sent / limit
    return "danger" if share >= 1 else "warn" if share >= 0.8 else ""
