"""Sizes as the product page sells them: decimal units (5 GB is 5,000 MB), in the reader's number format."""

from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format
from django.utils.translation import ngettext

DECIMAL_UNITS = [("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)]


def format_bytes(value) -> str:
    """ "5 GB", "2,5 GB", "120 MB": one decimal for GB and TB when it is not zero, whole MB and kB."""
    value = int(value or 0)
    for unit, size in DECIMAL_UNITS:
        if value >= size:
            amount = Decimal(value) / size
            places = 1 if unit in ("TB", "GB") and amount < 100 else 0
            amount = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
            if amount == amount.to_integral():
                amount, places = amount.to_integral(), 0
            return f"{number_format(amount, decimal_pos=places, use_l10n=True)}\xa0{unit}"
    return ngettext("%(count)d byte", "%(count)d bytes", value) % {"count": value}


class SizeLabels:
    """`format_bytes` for a page of rows, each size formatted once: a list's quotas are mostly a few sizes."""

    def __init__(self):
        self._labels: dict[int, str] = {}

    def __call__(self, value) -> str:
        value = int(value or 0)
        if value not in self._labels:
            self._labels[value] = format_bytes(value)
        return self._labels[value]
