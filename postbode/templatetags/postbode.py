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

from billing.access import may_see_invoices
from devices.views import domain_shared_context, mailbox_settings_context
from tenants.access import may_manage_mail

register = template.Library()


def anyone(membership) -> bool:
    return True


# (url name, label, who sees it): the same predicates the views' access decorators use, so the menu never
# offers a page that would answer 403.
NAV = [
    ("dashboard", _("Dashboard"), anyone),
    ("mailaccounts:domain_list", _("Domains"), may_manage_mail),
    ("mailaccounts:mailbox_list", _("Mailboxes"), may_manage_mail),
    ("mailaccounts:alias_list", _("Aliases"), may_manage_mail),
    ("mailaccounts:dns_overview", _("DNS & DKIM"), may_manage_mail),
    ("relay:credential_list", _("SMTP relay"), may_manage_mail),
    ("relay:message_list", _("Relay log"), may_manage_mail),
    ("plan", _("Plan"), anyone),
    ("billing:invoice_list", _("Invoices"), may_see_invoices),
    ("billing:details", _("Billing details"), may_see_invoices),
    ("team", _("Team"), anyone),
    ("audit_log", _("Activity"), anyone),
    ("account_settings", _("Security"), anyone),
]


@register.simple_tag(takes_context=True)
def panel_nav(context):
    request = context["request"]
    membership = getattr(request, "membership", None)
    items = []
    for name, label, may_see in NAV:
        if not may_see(membership):
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


# The capabilities' cards on the mail accounts' pages (mail accounts cannot import the apps above them).


@register.inclusion_tag("devices/_mailbox_settings.html")
def mailbox_client_settings(mailbox):
    return mailbox_settings_context(mailbox)


@register.inclusion_tag("devices/_domain_shared.html", takes_context=True)
def domain_shared_collections(context, domain):
    return {**domain_shared_context(domain), "membership": context.get("membership")}
