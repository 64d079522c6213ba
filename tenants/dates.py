"""Dates as the `|date` filter writes them, for a page that shows many: the active language's format is looked
up once, not once per value (a table of 50 rows or a 14-day chart otherwise pays it on every cell)."""

from collections.abc import Callable
from datetime import date
from functools import lru_cache

from django.utils import dateformat
from django.utils.formats import get_format
from django.utils.timezone import template_localtime
from django.utils.translation import get_language


def date_formatter(format_name: str) -> Callable[[object], str]:
    """`f(value)` equals `{{ value|date:format_name }}` in the active language (and the current time zone for
    an aware datetime); "" for None. `format_name` is a setting such as "SHORT_DATETIME_FORMAT" or a format
    string such as "j/n"."""
    format_string = get_format(format_name)

    def format_value(value) -> str:
        if value in (None, ""):
            return ""
        if type(value) is date:  # a day, not a moment: the same text for every reader of a language
            return _day_label(value, format_string, get_language())
        return dateformat.format(template_localtime(value), format_string)

    return format_value


@lru_cache(maxsize=4096)
def _day_label(day: date, format_string: str, language: str | None) -> str:
    """A day in a format, remembered per process: the relay log's chart labels its 14 days three ways on every
    view. `language` is the active one (the month names), part of the key."""
    return dateformat.format(day, format_string)
