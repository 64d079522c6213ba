"""Template helpers shared by all panel pages."""

from datetime import timedelta

from django import template
from django.conf import settings
from django.template.defaulttags import CsrfTokenNode
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, resolve, reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django_countries.fields import Country

from billing.access import may_see_invoices
from devices.cards import domain_shared_context, mailbox_settings_context
from postbode.forms import template_has_text
from tenants.access import is_open_to_mailbox_user, may_manage_mail
from tenants.rows import escaped, format_row, whole_percent
from tenants.units import format_bytes

register = template.Library()


def anyone(membership) -> bool:
    return True


# The menu, in groups (templates/README.md): (group title or None, [(url name, label, who sees it)]), "who"
# being the same predicate the view's access decorator uses, so the menu never offers a page that answers 403.
# A new page adds its entry to the group it belongs to; a url name that does not resolve is left out, so a
# branch may list its page before its urls are included.
NAV_GROUPS = [
    (None, [("dashboard", _("Dashboard"), anyone)]),
    (
        _("Mail"),
        [
            ("mailaccounts:mailbox_list", _("Mailboxes"), may_manage_mail),
            ("mailaccounts:alias_list", _("Aliases"), may_manage_mail),
            ("spamfilter:overview", _("Spam filter"), may_manage_mail),
            ("backups:overview", _("Backups"), may_manage_mail),
            ("relay:credential_list", _("SMTP relay"), may_manage_mail),
            ("relay:message_list", _("Relay log"), may_manage_mail),
        ],
    ),
    (
        _("Domains"),
        [
            ("mailaccounts:domain_list", _("Domains"), may_manage_mail),
            ("mailaccounts:dns_overview", _("DNS & DKIM"), may_manage_mail),
        ],
    ),
    (
        _("Account"),
        [
            ("plan", _("Plan"), anyone),
            ("billing:invoice_list", _("Invoices"), may_see_invoices),
            ("billing:payment_list", _("Payments"), may_see_invoices),
            ("billing:details", _("Billing details"), may_see_invoices),
            ("team", _("Team"), anyone),
            ("audit_log", _("Activity"), anyone),
            ("account_settings", _("Security"), anyone),
        ],
    ),
]


def nav_groups(path: str, membership) -> list[dict]:
    """The menu for a user of this role on this page: groups with at least one entry, the current one marked."""
    groups = []
    for title, entries in NAV_GROUPS:
        items = []
        for name, label, may_see in entries:
            if not may_see(membership):
                continue
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue
            current = path == url or (url != "/" and path.startswith(url))
            items.append({"url": url, "label": label, "current": current})
        if items:
            groups.append({"title": title, "items": items})
    return groups


# The menu of a mailbox's own user: their mailbox's pages. An entry shows only when its view is open to
# them (`tenants.access.is_open_to_mailbox_user`, set by the same decorator that lets them in), so the
# menu never offers a page that answers 404. A capability adds its mailbox page here by url name.
MAILBOX_NAV_GROUPS = [
    (None, [("mailaccounts:mailbox_detail", _("My mailbox"))]),
    (
        _("Settings"),
        [
            ("mailaccounts:mailbox_password", _("Password")),
            ("mailaccounts:autoresponder", _("Automatic reply")),
            ("mailaccounts:mailbox_signature", _("Signature")),  # the webmail branch's page
            ("spamfilter:mailbox", _("Spam filter")),
            ("devices:device_setup", _("Devices")),
        ],
    ),
    (
        _("Mail back"),
        [
            ("backups:deleted_list", _("Recently deleted")),
            ("backups:restore_start", _("Restore from backup")),
        ],
    ),
    (_("Account"), [("account_settings", _("Security"))]),
]


def mailbox_url(name: str, mailbox) -> str | None:
    """The url of `name` for the mailbox (or without arguments); None when it does not exist."""
    for args in ([mailbox.pk], []):
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return None


def mailbox_nav_groups(path: str, mailbox) -> list[dict]:
    """The menu of a mailbox's own user; the entry whose url is the longest start of `path` is current."""
    groups = []
    for title, entries in MAILBOX_NAV_GROUPS:
        items = []
        for name, label in entries:
            url = mailbox_url(name, mailbox)
            if url is None or not is_open_to_mailbox_user(resolve(url).func):
                continue
            items.append({"url": url, "label": label, "current": False})
        if items:
            groups.append({"title": title, "items": items})
    matching = [item for group in groups for item in group["items"] if path.startswith(item["url"])]
    if matching:
        max(matching, key=lambda item: len(item["url"]))["current"] = True
    return groups


# The menu's HTML by everything it depends on: language, page, URL configuration and what the member's role
# may see (each entry's predicate, asked on every request). Every page draws the menu; it is the same for all
# members of a role on a page, so each process renders it once per key.
_nav_html: dict[tuple, str] = {}
NAV_CACHE_SIZE = 2000  # pages times roles times languages; started afresh when full


@register.simple_tag(takes_context=True)
def panel_nav(context):
    request = context["request"]
    mailbox = getattr(request, "own_mailbox", None)
    if mailbox is not None:
        return render_nav(mailbox_nav_groups(request.path, mailbox))
    membership = getattr(request, "membership", None)
    visible = tuple(
        may_see(membership) for _title, entries in NAV_GROUPS for _name, _label, may_see in entries
    )
    key = (get_language(), request.path, get_script_prefix(), settings.ROOT_URLCONF, get_urlconf(), visible)
    html = None if settings.DEBUG else _nav_html.get(key)
    if html is None:  # (a local: another thread may empty the dict meanwhile, with gthread workers)
        html = render_nav(nav_groups(request.path, membership))
        if len(_nav_html) >= NAV_CACHE_SIZE:
            _nav_html.clear()
        _nav_html[key] = html
    return html


def render_nav(groups: list[dict]) -> str:
    return render_to_string("partials/nav.html", {"groups": groups})


@register.filter
def bytes_human(value):
    """Sizes in decimal units, as the product page sells them (tenants.units.format_bytes)."""
    return format_bytes(value)


@register.filter
def country_name(code: str) -> str:
    """A country code as its name in the reader's language ("NL" → "Nederland")."""
    return str(Country(code).name) if code else ""


@register.filter
def since(moment) -> str:
    """How long ago, in words: "zojuist" under a minute, else "5 minuten geleden"."""
    if not moment:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return gettext("just now")
    return gettext("%(time)s ago") % {"time": timesince(moment, depth=1)}


@register.filter
def percent_of(part, whole):
    if not whole:
        return 0
    return min(100, round(100 * (part or 0) / whole))


@register.filter
def bar_width(percent) -> str:
    """The class that gives a bar's filled part its width (`<span class="{{ percent|bar_width }}">`): the
    Content-Security-Policy refuses style attributes (tenants/content_policy.py)."""
    return f"w-{whole_percent(percent)}"


_live_state_badges: dict[tuple[str, str | None], str] = {}


@register.simple_tag
def live_state(state):
    """The badge of partials/live_state.html, rendered once per state and language (lists show hundreds)."""
    key = (state, get_language())
    if key not in _live_state_badges or settings.DEBUG:
        _live_state_badges[key] = mark_safe(render_to_string("partials/live_state.html", {"state": state}))  # noqa: S308
    return _live_state_badges[key]


@register.simple_tag
def not_applied_badge():
    """Beside the live state of a forward or alias with a destination the mail host never gets
    (`mailaccounts.models.undeliverable_addresses`): applied, but not all of it."""
    return format_html(
        '<span class="badge badge-danger" data-not-applied title="{}">{}</span>',
        gettext(
            "A destination of this was saved before the panel checked addresses strictly; the mail servers "
            "cannot deliver to it. Open it to correct it."
        ),
        gettext("Not applied"),
    )


@register.simple_tag(takes_context=True)
def mailbox_rows(context, mailboxes) -> SafeString:
    """The mailbox list's table rows, written here rather than through a template loop: a page shows 50 rows of
    about 20 template lookups each. The HTML is what the loop wrote (`tests/postbode/test_mailbox_rows.py`
    holds the two to the same bytes); each row's date and sizes come from the view."""
    list_url = reverse("mailaccounts:mailbox_list")
    page = {
        "list_url": list_url,
        "deleted": gettext("Deleted"),
        "restore": gettext("Restore"),
        "enabled": format_html('<span class="badge badge-ok">{}</span>\n            ', gettext("Enabled")),
        "disabled": format_html('<span class="badge badge-muted">{}</span>', gettext("Disabled")),
    }
    return mark_safe(  # noqa: S308 - every value is escaped by format_row
        "".join(
            format_row(
                '\n          <tr>\n            <td><a href="{}{}/">{}</a>\n              {}\n              {}</td>\n'
                '            <td class="num">{}</td>\n'
                '            <td class="num">{} <span class="small muted">({}%)</span></td>\n'
                "            <td>{}</td>\n            <td>{}</td>\n            <td>{}{}</td>\n"
                "          </tr>\n        ",
                list_url,
                mailbox.pk,
                mailbox.unicode_address,
                _muted_line(mailbox.display_name),
                _muted_line(_forwards(mailbox.forward_to)),
                mailbox.quota_label,
                mailbox.used_label,
                percent_of(mailbox.used_bytes, mailbox.quota_bytes),
                _mailbox_status(context, mailbox, page),
                mailbox.created_label,
                live_state(mailbox.live_state),
                format_html(" {}", not_applied_badge()) if mailbox.undeliverable_forwards else "",
            )
            for mailbox in mailboxes
        )
    )


def _muted_line(text) -> SafeString | str:
    return format_html('<br><span class="small muted">{}</span>', text) if text else ""


def _forwards(addresses) -> SafeString | str:
    """`→ a, b` as the template's `join` filter wrote it."""
    if not addresses:
        return ""
    return mark_safe("→ " + ", ".join(escaped(address) for address in addresses))  # noqa: S308 - escaped


def _mailbox_status(context, mailbox, page: dict) -> SafeString:
    if mailbox.deleted_at:
        return format_html(
            '\n              <span class="badge badge-danger">{}</span>\n              <form method="post" '
            'action="{}{}/restore/" class="inline">{}<button type="submit" class="link">{}</button></form>\n'
            "            ",
            page["deleted"],
            page["list_url"],
            mailbox.pk,
            CsrfTokenNode().render(context),  # only here: a list without deleted rows sets no CSRF cookie
            page["restore"],
        )
    return page["enabled"] if mailbox.is_enabled else page["disabled"]


# The capabilities' cards on the mail accounts' pages (mail accounts cannot import the apps above them).


@register.inclusion_tag("devices/_mailbox_settings.html")
def mailbox_client_settings(mailbox):
    return mailbox_settings_context(mailbox)


@register.inclusion_tag("devices/_domain_shared.html", takes_context=True)
def domain_shared_collections(context, domain):
    return {**domain_shared_context(domain), "membership": context.get("membership")}


# The language switch on every page (twice on a panel page: the top bar and the menu), written here while
# `templates/partials/language_switch.html` has the text this writes: through the template engine it cost 0.26
# ms a switch (4,187 of them in the fast tests, 1.1 s); once the template changes, it is rendered again.
LANGUAGE_SWITCH = "partials/language_switch.html"
LANGUAGE_SWITCH_SHA256 = "1c2db03485f098518abe153df0ed3caf6f356956f0ae6bef0ba65874b30d1845"


def language_switch_is_ours() -> bool:
    return template_has_text(LANGUAGE_SWITCH, LANGUAGE_SWITCH_SHA256)


@register.simple_tag(takes_context=True)
def language_switch(context, switch_class=""):
    """`{% include "partials/language_switch.html" with switch_class=… %}`, the same HTML."""
    if not language_switch_is_ours():
        with context.push(switch_class=switch_class):
            return mark_safe(context.template.engine.get_template(LANGUAGE_SWITCH).render(context))  # noqa: S308
    current = get_language()
    request = context.get("request")
    path = conditional_escape(request.get_full_path()) if request is not None else ""
    buttons = "".join(
        f'\n    <button type="submit" name="language" value="{conditional_escape(code)}"'
        f' class="link{" current" if code == current else ""}" lang="{conditional_escape(code)}"'
        f' title="{conditional_escape(gettext(name))}">{conditional_escape(code.upper())}</button>\n  '
        for code, name in settings.LANGUAGES
    )
    return mark_safe(  # noqa: S308 (every value above is escaped)
        f'<form action="{conditional_escape(reverse("set_language"))}" method="post"'
        f' class="{conditional_escape(switch_class or "lang-switch")}">\n  {CsrfTokenNode().render(context)}\n'
        f'  <input name="next" type="hidden" value="{path}">\n  \n  {buttons}\n</form>\n'
    )
