"""Dates as the `|date` filter writes them, for a page that shows many: the active language's format is looked
up once, not once per value (a table of 50 rows or a 14-day chart otherwise pays it on every cell)."""

from collections.abc import Callable

from django.utils import dateformat
from django.utils.formats import get_format
from django.utils.timezone import template_localtime


def date_formatter(format_name: str) -> Callable[[object], str]:
    """`f(value)` equals `{{ value|date:format_name }}` in the active language (and the current time zone for
    an aware datetime); "" for None. `format_name` is a setting such as "SHORT_DATETIME_FORMAT" or a format
    string such as "j/n"."""
    format_string = get_format(format_name)

    def format_value(value) -> str:
        if value in (None, ""):
            return ""
        return dateformat.format(template_localtime(value), format_string)

    return format_value
