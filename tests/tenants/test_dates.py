"""`tenants.dates.date_formatter` writes what the `|date` filter writes, days remembered per language."""

from datetime import UTC, date, datetime

import pytest
from django.template import engines
from django.utils.translation import override

from tenants.dates import date_formatter

VALUES = [date(2026, 12, 6), date(2026, 3, 1), datetime(2026, 12, 6, 23, 30, tzinfo=UTC), None]
FORMATS = ["DATE_FORMAT", "SHORT_DATETIME_FORMAT", "MONTH_DAY_FORMAT", "j/n", "j b Y"]
MOMENTS_ONLY = {"SHORT_DATETIME_FORMAT"}  # a time of day: not for a date


@pytest.mark.parametrize("format_name", FORMATS)
def test_the_formatter_writes_the_date_filters_text(format_name):
    template = engines["django"].from_string("{{ value|date:format_name }}")
    for language in ("nl", "en", "nl"):  # a remembered day is never another language's
        with override(language):
            formatter = date_formatter(format_name)
            for value in VALUES:
                if type(value) is date and format_name in MOMENTS_ONLY:
                    continue
                assert formatter(value) == template.render({"value": value, "format_name": format_name})
