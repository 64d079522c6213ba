"""Helpers for the mailbox and alias lists: sortable column headers and page links that keep the search."""

from django import template
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from .. import sections

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context, key, label):
    """A column header linking to this list sorted by `key`; a second click reverses the order."""
    current = context.get("sort", "")
    descending = current == key
    params = {"sort": f"-{key}" if descending else key}
    if context.get("query"):
        params["q"] = context["query"]
    if context.get("show_deleted"):
        params["show"] = "deleted"
    arrow = "▲" if current == key else "▼" if current == f"-{key}" else ""
    return format_html('<a href="?{}">{} {}</a>', urlencode(params), label, arrow)


@register.simple_tag(takes_context=True)
def page_query(context, number):
    """The query string for page `number` of the current list."""
    params = {"page": number}
    for name in ("query", "sort"):
        if context.get(name):
            params["q" if name == "query" else "sort"] = context[name]
    if context.get("show_deleted"):
        params["show"] = "deleted"
    return "?" + urlencode(params)


@register.simple_tag(takes_context=True)
def mailbox_sections(context, mailbox):
    """The cards other capabilities add to a mailbox's page (sections.py)."""
    return mark_safe("".join(sections.mailbox_sections(context["request"], mailbox)))  # noqa: S308


@register.simple_tag(takes_context=True)
def domain_sections(context, domain):
    """The cards other capabilities add to a domain's page (sections.py)."""
    return mark_safe("".join(sections.domain_sections(context["request"], domain)))  # noqa: S308
