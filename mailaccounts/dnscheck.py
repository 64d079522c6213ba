"""Live verification of the records in mailaccounts.dnsrecords, with dnspython: the checks alone, which
read DNS and return an `Outcome`, and store nothing (running them for a domain, storing the results and
telling the owner is `services.dnschecks`).

Every record gets one status: ok, missing, wrong (found and expected differ; the problems say exactly how),
conflicting (something else published breaks it: two SPF records, SPF over ten lookups, DMARC syntax errors,
a DKIM key that is not ours, MX pointing elsewhere) or unreachable (no answer in time, server failure: we do
not know, so never ok). Nothing in a DNS answer can make a check crash or report ok for a wrong record.
"""

import logging
import re
from dataclasses import dataclass, field

import dns.exception
import dns.resolver

from .dnsproblems import problem, shorten
from .dnsrecords import DnsRecord, report_address
from .models import DnsCheckStatus, Domain
from .services.dns import dns_settings_for

logger = logging.getLogger(__name__)

SPF_LOOKUP_LIMIT = 10
SPF_WALK_CAP = 20  # stop following includes here: the record is broken anyway, and hostile chains are long
SPF_LOOKUP_TERMS = {"a", "mx", "ptr", "exists", "include", "redirect"}
BROKEN = {DnsCheckStatus.MISSING, DnsCheckStatus.WRONG, DnsCheckStatus.CONFLICTING}
DMARC_POLICIES = {"none", "quarantine", "reject"}
DMARC_STRICTNESS = ["none", "quarantine", "reject"]


@dataclass
class Outcome:
    status: str
    found: list[str] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)


class Missing(Exception):
    def __init__(self, problem_: dict):
        self.problem = problem_


class Unreachable(Exception):
    def __init__(self, problem_: dict):
        self.problem = problem_


def lookup(resolver: dns.resolver.Resolver, name: str, rtype: str) -> list:
    """The records of a name and type; Missing for NXDOMAIN or no data, Unreachable when we cannot know."""
    try:
        answer = resolver.resolve(name, rtype, raise_on_no_answer=True, search=False)
    except dns.resolver.NXDOMAIN:
        raise Missing(problem("nxdomain")) from None
    except dns.resolver.NoAnswer:
        raise Missing(problem("no_record", rtype=rtype)) from None
    except dns.exception.Timeout:
        raise Unreachable(problem("timeout")) from None
    except dns.exception.DNSException as error:
        raise Unreachable(problem("dns_error", error=type(error).__name__)) from None
    return list(answer)


def txt_values_named(resolver, name: str, what: str) -> list[str]:
    """As txt_values, but "no record" names the kind of record (SPF, DMARC) instead of TXT."""
    try:
        return txt_values(resolver, name)
    except Missing as missing:
        if missing.problem["code"] == "no_record":
            raise Missing(problem("no_record", rtype=what)) from None
        raise


def txt_values(resolver, name: str) -> list[str]:
    """TXT records as text, each one's strings joined (RFC 7208 §3.3); undecodable bytes replaced."""
    return [printable(b"".join(rdata.strings)) for rdata in lookup(resolver, name, "TXT")]


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def printable(data: bytes) -> str:
    """Text safe to show and store (PostgreSQL refuses NUL): bad UTF-8 and control bytes become U+FFFD."""
    return CONTROL_CHARACTERS.sub("\ufffd", data.decode("utf-8", errors="replace"))


def parse_tags(text: str) -> tuple[dict[str, str], list[dict]]:
    """`tag=value; ...` (DKIM, DMARC, MTA-STS, TLS-RPT) into a dict and a list of syntax problems."""
    tags, errors = {}, []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        tag, sep, value = part.partition("=")
        tag = tag.strip().lower()
        if not sep or not re.fullmatch(r"[a-z][a-z0-9_]*", tag):
            errors.append(problem("syntax", found=shorten(part, 60)))
            continue
        if tag in tags:
            errors.append(problem("tag_twice", tag=tag))
        tags[tag] = value.strip()
    return tags, errors


def records_starting(values: list[str], prefix: str) -> list[str]:
    pattern = re.compile(rf"^{re.escape(prefix)}(\s|;|$)", re.IGNORECASE)
    return [value for value in values if pattern.match(value)]


# Checks per record kind. Each takes the resolver, the expected record and the domain; returns an Outcome.


def check_mx(resolver, record: DnsRecord, domain: Domain) -> Outcome:
    answers = lookup(resolver, record.name, "MX")
    found = sorted(f"{r.preference} {str(r.exchange).rstrip('.')}" for r in answers)
    hosts = {str(r.exchange).rstrip(".").lower() for r in answers}
    ours = domain.mailhost.hostname.lower()
    others = sorted(hosts - {ours})
    if ours not in hosts:
        return Outcome(
            DnsCheckStatus.CONFLICTING,
            found,
            [problem("mx_elsewhere", found=", ".join(others), expected=ours)],
        )
    if others:
        return Outcome(DnsCheckStatus.CONFLICTING, found, [problem("mx_extra", found=", ".join(others))])
    return Outcome(DnsCheckStatus.OK, found)


def check_spf(resolver, record: DnsRecord, domain: Domain) -> Outcome:
    spf_records = records_starting(txt_values_named(resolver, record.name, "SPF"), "v=spf1")
    if not spf_records:
        raise Missing(problem("no_record", rtype="SPF"))
    if len(spf_records) > 1:
        return Outcome(
            DnsCheckStatus.CONFLICTING, spf_records, [problem("multiple", count=len(spf_records), what="SPF")]
        )
    spf = spf_records[0]
    wrong = spf_term_problems(spf, domain.name)
    walk = SpfWalk(resolver)
    walk.walk(spf, domain.name)
    conflicts = walk.problems
    if walk.lookups > SPF_LOOKUP_LIMIT:
        conflicts.insert(0, problem("spf_too_many_lookups", count=walk.lookups_label))
    if conflicts:
        return Outcome(DnsCheckStatus.CONFLICTING, spf_records, conflicts + wrong)
    if wrong:
        return Outcome(DnsCheckStatus.WRONG, spf_records, wrong)
    return Outcome(DnsCheckStatus.OK, spf_records)


SPF_MECHANISM = re.compile(r"^[+\-~?]?(all|include|a|mx|ptr|ip4|ip6|exists)([:/].*)?$", re.IGNORECASE)
SPF_MODIFIER = re.compile(r"^[a-z][a-z0-9_.\-]*=.*$", re.IGNORECASE)


def spf_term_problems(spf: str, domain_name: str) -> list[dict]:
    """What makes the customer's SPF record differ from what we need: our mx authorised, a strict all."""
    terms = spf.split()[1:]
    problems = [
        problem("spf_unknown_term", term=t)
        for t in terms
        if not (SPF_MECHANISM.match(t) or SPF_MODIFIER.match(t))
    ]
    lowered = [t.lower() for t in terms]
    if not any(t in {"mx", "+mx", f"mx:{domain_name.lower()}"} for t in lowered):
        problems.append(problem("spf_no_mx"))
    all_terms = [t for t in lowered if t.lstrip("+-~?") == "all"]
    if not all_terms and not any(t.startswith("redirect=") for t in lowered):
        problems.append(problem("spf_all", found=""))
    elif all_terms and all_terms[-1] not in {"-all", "~all"}:
        problems.append(problem("spf_all", found=all_terms[-1]))
    return problems


class SpfWalk:
    """Count the DNS lookups an SPF evaluation needs (RFC 7208 §4.6.4), following include and redirect."""

    def __init__(self, resolver):
        self.resolver = resolver
        self.lookups = 0
        self.over_budget = False
        self.problems: list[dict] = []
        self.seen: set[str] = set()

    @property
    def lookups_label(self) -> str:
        return f"{self.lookups}+" if self.over_budget else str(self.lookups)

    def walk(self, spf: str, origin: str) -> None:
        self.seen.add(origin.lower())
        terms = [t.lower() for t in spf.split()[1:]]
        has_all = any(t.lstrip("+-~?") == "all" for t in terms)
        for term in terms:
            mechanism = re.split(r"[:/=]", term.lstrip("+-~?"), maxsplit=1)[0]
            if mechanism not in SPF_LOOKUP_TERMS or (mechanism == "redirect" and has_all):
                continue
            self.lookups += 1
            if self.lookups > SPF_WALK_CAP:
                self.over_budget = True
                return
            if mechanism in {"include", "redirect"}:
                self.follow(re.split(r"[:=]", term, maxsplit=1)[-1].rstrip("."))

    def follow(self, target: str) -> None:
        if "%" in target or not target:
            return  # macros expand per message; their lookups are counted where they are used
        if target in self.seen:
            self.problems.append(problem("spf_loop", target=target))
            return
        try:
            spf_records = records_starting(txt_values(self.resolver, target), "v=spf1")
        except Missing:
            spf_records = []
        if len(spf_records) != 1:
            self.problems.append(problem("spf_target_missing", target=target))
            return
        self.walk(spf_records[0], target)


def check_dkim(resolver, record: DnsRecord, domain: Domain) -> Outcome:
    values = txt_values(resolver, record.name)
    if len(values) > 1:
        return Outcome(
            DnsCheckStatus.CONFLICTING, values, [problem("multiple", count=len(values), what="TXT")]
        )
    tags, errors = parse_tags(values[0])
    expected, _errors = parse_tags(record.value)
    if errors:
        return Outcome(DnsCheckStatus.CONFLICTING, values, errors)
    found_key = re.sub(r"\s+", "", tags.get("p", ""))
    problems = []
    if tags.get("v", "DKIM1") != "DKIM1":
        problems.append(problem("differs", part="v=", found=tags["v"], expected="DKIM1"))
    if tags.get("k", "rsa").lower() != expected["k"]:
        problems.append(problem("differs", part="k=", found=tags.get("k", "rsa"), expected=expected["k"]))
    if "p" not in tags:
        problems.append(problem("differs", part="p=", found="", expected=shorten(expected["p"], 24)))
    elif not found_key:
        problems.append(problem("dkim_revoked"))
    elif found_key != expected["p"]:
        mismatch = problem(
            "dkim_key_mismatch", found=shorten(found_key, 24), expected=shorten(expected["p"], 24)
        )
        return Outcome(DnsCheckStatus.CONFLICTING, values, [mismatch, *problems])
    return Outcome(DnsCheckStatus.WRONG if problems else DnsCheckStatus.OK, values, problems)


def check_dmarc(resolver, record: DnsRecord, domain: Domain) -> Outcome:
    values = txt_values_named(resolver, record.name, "DMARC")
    dmarc_records = records_starting(values, "v=DMARC1")
    lookalikes = [v for v in values if "dmarc" in v.lower() and v not in dmarc_records]
    if not dmarc_records and not lookalikes:
        raise Missing(problem("no_record", rtype="DMARC"))
    if lookalikes:
        details = [problem("not_first", what="DMARC", prefix="v=DMARC1;", found=v) for v in lookalikes]
        return Outcome(DnsCheckStatus.CONFLICTING, values, details)
    if len(dmarc_records) > 1:
        return Outcome(
            DnsCheckStatus.CONFLICTING,
            dmarc_records,
            [problem("multiple", count=len(dmarc_records), what="DMARC")],
        )
    tags, errors = parse_tags(dmarc_records[0])
    errors += dmarc_syntax_errors(tags)
    if errors:
        return Outcome(DnsCheckStatus.CONFLICTING, dmarc_records, errors)
    policy = dns_settings_for(domain).dmarc_policy
    wanted_rua = f"mailto:{report_address(domain)}".lower()
    problems = []
    if DMARC_STRICTNESS.index(tags["p"].lower()) < DMARC_STRICTNESS.index(policy):  # stricter is fine too
        problems.append(problem("differs", part="p=", found=tags["p"], expected=policy))
    reporting = [uri.strip().lower().split("!")[0] for uri in tags.get("rua", "").split(",") if uri.strip()]
    if wanted_rua not in reporting:
        problems.append(problem("differs", part="rua=", found=tags.get("rua", ""), expected=wanted_rua))
    if tags.get("pct", "100") != "100":
        problems.append(problem("differs", part="pct=", found=tags["pct"], expected="100"))
    return Outcome(DnsCheckStatus.WRONG if problems else DnsCheckStatus.OK, dmarc_records, problems)


def dmarc_syntax_errors(tags: dict[str, str]) -> list[dict]:
    """RFC 7489 §6.3 rules a receiver would reject the record for."""
    policies = "none, quarantine, reject"
    errors = []
    if "p" not in tags:
        errors.append(problem("tag_required", tag="p"))
    elif tags["p"].lower() not in DMARC_POLICIES:
        errors.append(problem("tag_value", tag="p", found=tags["p"], allowed=policies))
    if tags.get("sp", "none").lower() not in DMARC_POLICIES:
        errors.append(problem("tag_value", tag="sp", found=tags["sp"], allowed=policies))
    for tag in ("adkim", "aspf"):
        if tags.get(tag, "r").lower() not in {"r", "s"}:
            errors.append(problem("tag_value", tag=tag, found=tags[tag], allowed="r, s"))
    if not re.fullmatch(r"\d{1,3}", tags.get("pct", "100")) or int(tags.get("pct", "100")) > 100:
        errors.append(problem("tag_value", tag="pct", found=tags["pct"], allowed="0-100"))
    for tag in ("rua", "ruf"):
        for uri in filter(None, (u.strip() for u in tags.get(tag, "").split(","))):
            if not uri.lower().startswith("mailto:"):
                errors.append(problem("tag_uri", tag=tag, found=uri))
    return errors


def check_tagged_txt(prefix: str, compare: tuple[str, ...]):
    """A check for one `v=...; tag=value` TXT record (MTA-STS, TLS-RPT), comparing the given tags."""

    def check(resolver, record: DnsRecord, domain: Domain) -> Outcome:
        values = records_starting(txt_values(resolver, record.name), prefix)
        if not values:
            raise Missing(problem("no_record", rtype=prefix.split("=")[1]))
        if len(values) > 1:
            return Outcome(
                DnsCheckStatus.CONFLICTING, values, [problem("multiple", count=len(values), what=prefix)]
            )
        tags, errors = parse_tags(values[0])
        if errors:
            return Outcome(DnsCheckStatus.CONFLICTING, values, errors)
        expected, _errors = parse_tags(record.value)
        problems = [
            problem("differs", part=f"{tag}=", found=tags.get(tag, ""), expected=expected[tag])
            for tag in compare
            if tags.get(tag, "").lower() != expected[tag].lower()
        ]
        return Outcome(DnsCheckStatus.WRONG if problems else DnsCheckStatus.OK, values, problems)

    return check


def check_cname(resolver, record: DnsRecord, domain: Domain) -> Outcome:
    answers = lookup(resolver, record.name, "CNAME")
    found = [str(r.target).rstrip(".") for r in answers]
    if [f.lower() for f in found] != [record.value.lower()]:
        return Outcome(
            DnsCheckStatus.WRONG,
            found,
            [problem("differs", part="target", found=", ".join(found), expected=record.value)],
        )
    return Outcome(DnsCheckStatus.OK, found)


def check_address(resolver, record: DnsRecord, domain: Domain) -> Outcome:
    found = [r.to_text() for r in lookup(resolver, record.name, record.rtype)]
    if found != [record.value]:
        return Outcome(
            DnsCheckStatus.WRONG,
            found,
            [problem("differs", part="target", found=", ".join(found), expected=record.value)],
        )
    return Outcome(DnsCheckStatus.OK, found)


def check_srv(resolver, record: DnsRecord, domain: Domain) -> Outcome:
    answers = lookup(resolver, record.name, "SRV")
    found = sorted(f"{r.priority} {r.weight} {r.port} {str(r.target).rstrip('.')}" for r in answers)
    _priority, _weight, port, target = record.value.split()
    matching = [
        r for r in answers if r.port == int(port) and str(r.target).rstrip(".").lower() == target.lower()
    ]
    if matching and len(answers) == 1:
        return Outcome(DnsCheckStatus.OK, found)
    problems = []
    for r in answers:
        if str(r.target).rstrip(".").lower() != target.lower():
            problems.append(
                problem("differs", part="target", found=str(r.target).rstrip("."), expected=target)
            )
        if r.port != int(port):
            problems.append(problem("differs", part="port", found=r.port, expected=port))
    return Outcome(DnsCheckStatus.WRONG, found, problems)


CHECKS = {
    "mx": check_mx,
    "spf": check_spf,
    "dmarc": check_dmarc,
    "mta-sts": check_tagged_txt("v=STSv1", ("id",)),
    "tls-rpt": check_tagged_txt("v=TLSRPTv1", ("rua",)),
}


def check_record(resolver, record: DnsRecord, domain: Domain) -> Outcome:
    """Check one record; never raises, never ok unless the published record is right."""
    kind = record.key.split(":")[0]
    check = (
        CHECKS.get(record.key)
        or {"dkim": check_dkim, "srv": check_srv}.get(kind)
        or (check_address if record.rtype in ("A", "AAAA") else check_cname)
    )
    try:
        return check(resolver, record, domain)
    except Missing as missing:
        return Outcome(DnsCheckStatus.MISSING, [], [missing.problem])
    except Unreachable as unreachable:
        return Outcome(DnsCheckStatus.UNREACHABLE, [], [unreachable.problem])
    except Exception:  # a DNS answer we did not foresee must not break the page or the periodic check
        logger.exception("DNS check of %s %s failed", record.name, record.rtype)
        return Outcome(DnsCheckStatus.UNREACHABLE, [], [problem("check_error")])
