"""rspamd's symbols in plain words: the main reasons a message was refused or filed as spam.

Symbols are matched by exact name or by prefix (rspamd has families such as `RBL_*` and `URIBL_*`); the
first rule that matches a symbol gives its reason. `main_reasons` takes the symbols that added most to the
score, maps each to a reason and keeps the first few distinct ones.
"""

from django.utils.translation import gettext_lazy as _

EXACT = {
    "GTUBE": _("known spam test text"),
    "FORCE_ACTION_POSTBODE_BLOCKED": _("sender is on the block list"),
    "POSTBODE_TEST_SPAM": _("test rule of the test mail stack"),
    "BAYES_SPAM": _("resembles mail reported as spam"),
    "R_SPF_FAIL": _("sender fails SPF"),
    "R_SPF_SOFTFAIL": _("sender fails SPF"),
    "R_SPF_PERMFAIL": _("sender's SPF record is broken"),
    "R_DKIM_REJECT": _("DKIM signature does not match"),
    "DMARC_POLICY_REJECT": _("sender fails DMARC"),
    "DMARC_POLICY_QUARANTINE": _("sender fails DMARC"),
    "DMARC_POLICY_SOFTFAIL": _("sender fails DMARC"),
    "ARC_REJECT": _("forwarding chain (ARC) is broken"),
    "FUZZY_DENIED": _("known spam text"),
    "PHISHING": _("looks like phishing"),
    "PHISHED_OPENPHISH": _("looks like phishing"),
    "PHISHED_PHISHTANK": _("looks like phishing"),
    "FORGED_SENDER": _("sender address looks forged"),
    "FORGED_RECIPIENTS": _("recipient addresses look forged"),
    "MISSING_FROM": _("message headers are incomplete"),
    "MISSING_DATE": _("message headers are incomplete"),
    "MISSING_MID": _("message headers are incomplete"),
    "MISSING_TO": _("message headers are incomplete"),
    "MISSING_SUBJECT": _("message headers are incomplete"),
    "MID_RHS_NOT_FQDN": _("message headers are incomplete"),
    "R_SUSPICIOUS_URL": _("contains a suspicious link"),
    "SUSPICIOUS_RECIPS": _("suspicious list of recipients"),
    "ZERO_FONT": _("contains hidden text"),
    "R_PARTS_DIFFER": _("text and HTML parts differ"),
    "MIME_BAD_ATTACHMENT": _("contains a dangerous attachment"),
    "MIME_DOUBLE_BAD_EXTENSION": _("contains a dangerous attachment"),
    "MIME_EXE_IN_GEN_SPLIT_RAR": _("contains a dangerous attachment"),
}
PREFIXES = [
    ("POSTBODE_BLOCK_", _("sender is on the block list")),
    ("POSTBODE_ALLOW_", _("sender is on the allow list")),
    ("RBL_", _("sender is on a block list of the internet")),
    ("RECEIVED_", _("sending server is on a block list of the internet")),
    ("URIBL_", _("contains a link to a known spam site")),
    ("SURBL_", _("contains a link to a known spam site")),
    ("DBL_", _("contains a link to a known spam site")),
    ("SEM_", _("contains a link to a known spam site")),
    ("HFILTER_", _("sending server looks suspicious")),
    ("FUZZY_", _("known spam text")),
    ("MIME_BAD", _("contains a dangerous attachment")),
    ("BAD_REP_", _("sender has a bad reputation")),
]
MAX_REASONS = 3


def reason_of(symbol: str):
    """The plain-words reason for one symbol, or None for one we do not explain."""
    if symbol in EXACT:
        return EXACT[symbol]
    for prefix, reason in PREFIXES:
        if symbol.startswith(prefix):
            return reason
    return None


def main_reasons(symbols: dict[str, float], *, limit: int = MAX_REASONS) -> list[str]:
    """The few distinct reasons behind a verdict, strongest first (GTUBE and the block list first of all)."""
    ranked = sorted(symbols.items(), key=lambda item: (item[0] not in FIRST, -item[1]))
    reasons: list[str] = []
    for symbol, score in ranked:
        if score <= 0 and symbol not in FIRST:
            continue
        reason = reason_of(symbol)
        if reason is not None and str(reason) not in reasons:
            reasons.append(str(reason))
        if len(reasons) == limit:
            break
    return reasons


FIRST = {
    "GTUBE",
    "FORCE_ACTION_POSTBODE_BLOCKED",
    "POSTBODE_BLOCK_MAILBOX_ADDRESS",
    "POSTBODE_BLOCK_MAILBOX_SENDER_DOMAIN",
    "POSTBODE_BLOCK_DOMAIN_ADDRESS",
    "POSTBODE_BLOCK_DOMAIN_SENDER_DOMAIN",
}
