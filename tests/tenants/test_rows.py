"""`tenants.rows` writes what Django's `format_html` and `conditional_escape` write, as plain strings."""

from datetime import date

import pytest
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy, override

from tenants.rows import escaped, format_row

VALUES = [
    "plain",
    "<b>&'\"</b>",
    mark_safe("<b>safe</b>"),
    12345,
    2.5,
    None,
    "",
    date(2026, 12, 6),
    gettext_lazy("Enabled"),
    ["a<b", "c"],
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_escaped_is_conditional_escape(value):
    with override("nl"):
        assert escaped(value) == conditional_escape(value)


def test_format_row_is_format_html():
    with override("nl"):
        assert format_row("<td>{}</td>" * len(VALUES), *VALUES) == format_html(
            "<td>{}</td>" * len(VALUES), *VALUES
        )
