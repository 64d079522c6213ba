"""Who sends the invoices: the company's details from settings, on the invoice page and in its PDF."""

from django.conf import settings


def company_details() -> dict:
    return {
        "name": settings.COMPANY_NAME,
        "address": settings.COMPANY_ADDRESS,
        "vat_number": settings.COMPANY_VAT_NUMBER,
        "coc_number": getattr(settings, "COMPANY_COC_NUMBER", ""),
        "iban": getattr(settings, "COMPANY_IBAN", ""),
    }
