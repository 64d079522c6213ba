"""The one place Postbode talks to Mollie: the official client (`mollie-api-python`), set up from settings.

With no `MOLLIE_API_KEY` (the embedded default) online payment is off and nothing here is called. Tests point
`MOLLIE_API_ENDPOINT` at a local server that answers like Mollie; production leaves it empty (api.mollie.com).
"""

from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from mollie.api.error import Error as MollieError

if TYPE_CHECKING:
    from mollie.api.client import Client

__all__ = ["MollieError", "client", "online_payments_enabled", "amount", "decimal_of"]


def online_payments_enabled() -> bool:
    return bool(settings.MOLLIE_API_KEY)


def client() -> "Client":
    # Imported here, when a payment is made: the client and the HTTP library under it took 0.13 s of every
    # process's start (the web server's, Celery's, each test worker's), most of which never pay anything.
    from mollie.api.client import Client  # noqa: PLC0415

    mollie = Client(api_endpoint=settings.MOLLIE_API_ENDPOINT or "", timeout=(3, 15))
    mollie.set_api_key(settings.MOLLIE_API_KEY)
    return mollie


def amount(value: Decimal) -> dict:
    """Mollie's amount object: a string with exactly two decimals."""
    return {"currency": "EUR", "value": f"{value:.2f}"}


def decimal_of(amount_object: dict | None) -> Decimal:
    if not amount_object:
        return Decimal("0.00")
    return Decimal(amount_object["value"])
