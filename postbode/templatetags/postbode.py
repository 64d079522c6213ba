"""Template helpers shared by all panel pages."""

from django import template
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

register = template.Library()

MAIL = {"owner", "member"}  # as panel.access.may_manage_mail
# (url name, label, roles that see it; None = everyone)
NAV = [
    ("dashboard", _("Dashboard"), None),
    ("mailaccounts:domain_list", _("Domains"), MAIL),
    ("mailaccounts:mailbox_list", _("Mailboxes"), MAIL),
    ("mailaccounts:alias_list", _("Aliases"), MAIL),
    ("mailaccounts:dns_overview", _("DNS & DKIM"), MAIL),
    ("relay:credential_list", _("SMTP relay"), MAIL),
    ("relay:message_list", _("Relay log"), MAIL),
    ("plan", _("Plan"), None),
    ("billing:invoice_list", _("Invoices"), {"owner", "billing"}),
    ("billing:details", _("Billing details"), {"owner", "billing"}),
    ("team", _("Team"), None),
    ("audit_log", _("Activity"), None),
    ("account_settings", _("Security"), None),
]


@register.simple_tag(takes_context=True)
def panel_nav(context):
    request = context["request"]
    role = request.membership.role if getattr(request, "membership", None) else None
    items = []
    for name, label, roles in NAV:
        if roles is not None and role not in roles:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        current = request.path == url or (url != "/" and request.path.startswith(url))
        items.append((url, "current" if current else "", label))
    return format_html(
        '<ul class="nav">{}</ul>', format_html_join("", '<li><a href="{}" class="{}">{}</a></li>', items)
    )


@register.filter
def bytes_human(value):
    return filesizeformat(value or 0)


@register.filter
def percent_of(part, whole):
    if not whole:
        return 0
    return min(100, round(100 * (part or 0) / whole))


_live_state_badges: dict[tuple[str, str | None], str] = {}


@register.simple_tag
def live_state(state):
    """The badge of partials/live_state.html, rendered once per state and language (lists show hundreds)."""
    key = (state, get_language())
    if key not in _live_state_badges or settings.DEBUG:
        _live_state_badges[key] = mark_safe(render_to_string("partials/live_state.html", {"state": state}))  # noqa: S308
    return _live_state_badges[key]
