"""The problems a DNS check finds, as stored codes and values, and as sentences in the reader's language.

Stored check results hold `problem(code, **values)` dictionaries, never sentences, so a page shows them in
whatever language it is read in (`describe_problem`).
"""

from django.utils.translation import gettext_lazy as _

PROBLEM_MESSAGES = {
    "nxdomain": _("This name does not exist in your DNS yet."),
    "no_record": _("There is no %(rtype)s record at this name."),
    "timeout": _("The DNS servers did not answer in time, so this record could not be checked."),
    "dns_error": _(
        "The DNS servers answered with an error (%(error)s), so this record could not be checked."
    ),
    "differs": _("%(part)s is “%(found)s”; expected “%(expected)s”."),
    "multiple": _("There are %(count)s %(what)s records at this name; there must be exactly one."),
    "mx_elsewhere": _("The MX points to %(found)s, not to our mail server %(expected)s."),
    "mx_extra": _("Besides our mail server, the MX also points to %(found)s: some mail would go there."),
    "spf_too_many_lookups": _(
        "SPF needs %(count)s DNS lookups (includes, redirects, a, mx, ptr, exists); receivers allow at most 10."
    ),
    "spf_target_missing": _("%(target)s (used in include or redirect) has no SPF record."),
    "spf_loop": _("%(target)s is included more than once (a loop)."),
    "spf_no_mx": _("SPF does not authorise your mail server: the record has no “mx”."),
    "spf_all": _("SPF ends with “%(found)s”; expected “-all” (or “~all”)."),
    "spf_unknown_term": _("SPF contains “%(term)s”, which is not valid SPF."),
    "dkim_key_mismatch": _(
        "The published key (p=) is not this selector's key: found %(found)s, expected %(expected)s."
    ),
    "dkim_revoked": _("The key (p=) is empty, which means revoked."),
    "syntax": _("Syntax error: “%(found)s” is not of the form tag=value."),
    "tag_twice": _("Syntax error: the tag %(tag)s= appears twice."),
    "not_first": _("Syntax error: a %(what)s record must start with “%(prefix)s”: found “%(found)s”."),
    "tag_required": _("Syntax error: the required tag %(tag)s= is missing."),
    "tag_value": _("Syntax error: %(tag)s=%(found)s is not allowed; allowed: %(allowed)s."),
    "tag_uri": _("Syntax error: the address %(found)s in %(tag)s= does not start with mailto:."),
    "check_error": _("The answer could not be understood, so this record could not be checked."),
}


PART_LABELS = {"port": _("The port"), "target": _("The target")}


def describe_problem(problem: dict) -> str:
    """The problem in the reader's language (stored results hold codes and values, not sentences)."""
    template = PROBLEM_MESSAGES.get(problem.get("code"), PROBLEM_MESSAGES["check_error"])
    params = {k: v for k, v in problem.items() if k != "code"}
    if params.get("part") in PART_LABELS:
        params["part"] = PART_LABELS[params["part"]]
    if params.get("found") == "":
        params["found"] = _("(nothing)")
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(template)


def problem(code: str, **params) -> dict:
    return {"code": code, **{k: shorten(str(v)) for k, v in params.items()}}


def shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
