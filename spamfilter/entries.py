"""Allow and block list entries: an address (`jan@example.nl`) or a whole domain (`@example.nl`).

`normalize_entry` turns what a customer typed into the one form the lists store and the rspamd maps hold:
lower case, the domain in punycode (typed in Unicode or punycode alike), the local part plain ASCII from a
small set of characters. Whatever passes can be written as one key of a map line (`recipient|sender`): no
whitespace, no `#` (a map comment), no `|` (the key separator), no `/` (rspamd reads `/.../` as a regex),
no `*`, quotes, backslashes or control characters. Anything else is refused with a message saying why.
"""

import re

import idna
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_ENTRIES = 1000
MAX_LOCAL_LENGTH = 64
MAX_DOMAIN_LENGTH = 253
LOCAL_PART = re.compile(r"[a-z0-9](?:[a-z0-9._%+=-]*[a-z0-9_%+=-])?")
DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def normalize_domain(raw: str, *, entry: str) -> str:
    name = raw.rstrip(".")
    try:
        ascii_name = idna.encode(name, uts46=True, std3_rules=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise ValidationError(
            _("“%(entry)s” does not have a valid domain name.") % {"entry": entry}, code="domain"
        ) from None
    ascii_name = ascii_name.lower()
    labels = ascii_name.split(".")
    if (
        len(ascii_name) > MAX_DOMAIN_LENGTH
        or len(labels) < 2
        or not all(DOMAIN_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValidationError(
            _("“%(entry)s” needs a full domain name, such as example.nl.") % {"entry": entry}, code="domain"
        )
    return ascii_name


def normalize_entry(raw: str) -> str:
    """`jan@example.nl` or `@example.nl` in stored form, or a ValidationError that says what is wrong."""
    entry = (raw or "").strip()
    shown = "".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in entry[:80])
    if not entry:
        raise ValidationError(_("Enter an address or @domain."), code="empty")
    if any(ch.isspace() or not ch.isprintable() for ch in entry):
        raise ValidationError(
            _("“%(entry)s” contains spaces or invisible characters; enter one address or @domain per line.")
            % {"entry": shown},
            code="characters",
        )
    if entry.count("@") != 1:
        raise ValidationError(
            _("“%(entry)s” is not an address or @domain (for example jan@example.nl or @example.nl).")
            % {"entry": shown},
            code="form",
        )
    local, _at, domain = entry.partition("@")
    ascii_domain = normalize_domain(domain, entry=shown)
    if not local:
        return f"@{ascii_domain}"
    local = local.lower()
    if not local.isascii():
        raise ValidationError(
            _("“%(entry)s”: use only plain letters, digits and . _ %% + = - before the @.")
            % {"entry": shown},
            code="local",
        )
    if len(local) > MAX_LOCAL_LENGTH or not LOCAL_PART.fullmatch(local) or ".." in local:
        raise ValidationError(
            _("“%(entry)s”: use only plain letters, digits and . _ %% + = - before the @.")
            % {"entry": shown},
            code="local",
        )
    return f"{local}@{ascii_domain}"


def parse_entries(text: str) -> list[str]:
    """Several entries, one per line (commas and semicolons separate too), normalised and deduplicated.

    Raises one ValidationError listing every line that is wrong, so nothing is saved unless all are right.
    """
    raw_entries = [part.strip() for part in re.split(r"[\n,;]", text or "") if part.strip()]
    if not raw_entries:
        raise ValidationError(_("Enter an address or @domain."), code="empty")
    entries, errors = [], []
    for raw in raw_entries:
        try:
            entry = normalize_entry(raw)
        except ValidationError as error:
            errors.extend(error.messages)
            continue
        if entry not in entries:
            entries.append(entry)
    if errors:
        raise ValidationError(errors)
    return entries


def display_entry(entry: str) -> str:
    """The stored entry with its domain in Unicode, as the customer typed it."""
    local, _at, domain = entry.partition("@")
    try:
        return f"{local}@{idna.decode(domain)}"
    except (idna.IDNAError, UnicodeError):
        return entry


def is_valid_entry(value: str) -> bool:
    """True for a value that `normalize_entry` would store unchanged (the renderer checks again)."""
    try:
        return normalize_entry(value) == value
    except ValidationError:
        return False
