"""Postcodes and phone numbers checked for the customer's country, and written the way that country writes them."""

import re

import phonenumbers
from django.utils.translation import gettext as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.nl import postcode as nl_postcode

# Country: (pattern of the normalised code, example shown in the error). Countries not listed get a loose check.
POSTAL_CODES = {
    "BE": (r"\d{4}", "1000"),
    "DE": (r"\d{5}", "10115"),
    "FR": (r"\d{5}", "75001"),
    "LU": (r"(L-)?\d{4}", "L-1009"),
    "AT": (r"\d{4}", "1010"),
    "DK": (r"\d{4}", "1050"),
    "ES": (r"\d{5}", "28001"),
    "IT": (r"\d{5}", "00118"),
    "GB": (r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", "SW1A 1AA"),
}
LOOSE_POSTAL_CODE = r"[A-Z0-9][A-Z0-9 -]{1,9}"


def normalize_postal_code(value: str, country: str) -> str:
    """The postcode as the country writes it ("1234 AB" in the Netherlands); ValueError with a message if wrong."""
    code = re.sub(r"\s+", " ", value.strip().upper())
    if country == "NL":
        try:
            return nl_postcode.validate(code)
        except StdnumError as error:
            raise ValueError(
                _("Enter a Dutch postcode: four digits and two letters, e.g. 1234 AB.")
            ) from error
    pattern, example = POSTAL_CODES.get(country, (LOOSE_POSTAL_CODE, ""))
    if not re.fullmatch(pattern, code):
        if example:
            raise ValueError(
                _("This is not a postcode of that country (e.g. %(example)s).") % {"example": example}
            )
        raise ValueError(_("This is not a valid postcode."))
    return code


def normalize_phone(value: str, country: str) -> str:
    """The number in international form (+31 20 123 4567); a national number is read for `country`."""
    try:
        number = phonenumbers.parse(value, country)
    except phonenumbers.NumberParseException as error:
        raise ValueError(_("This is not a phone number.")) from error
    if not phonenumbers.is_valid_number(number):
        raise ValueError(_("This is not a valid phone number for that country (e.g. +31 6 12345678)."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
