"""Read what rspamd did from the mail hosts' logs into `SpamResult`, `LearnEvent` and `OutboundFlag`.

`ingest_host(spam_host)`:
1. Reads the rspamd log (only `postbode-scan` lines, scanlog.py) and the learning log from the stored inode
   and offset: a rotated log (new inode) is finished from its predecessor found beside it (same inode), a
   truncated one is read from the start. Only whole lines are read; the offsets move with the rows, in
   one transaction, so a crash neither loses nor doubles anything (rows are also unique by `line_key`).
2. An incoming message becomes one row per recipient: refused (rspamd's reject), filed as spam (the score
   reached the Junk threshold the recipient's mailbox had at that moment), or delivered. An outgoing one
   (rspamd saw an SMTP login) becomes one row for its login.
3. A login whose outgoing mail was refused `SPAM_OUTBOUND_FLAG_AFTER` times within an hour gets an
   `OutboundFlag` (shown to staff in the admin and to the customer) and the customer's owners an e-mail.
"""

import glob
import hashlib
import os
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mailaccounts.models import Domain, Mailbox
from tenants.emails import send_customer_email, site_link
from tenants.models import Membership

from .models import Direction as ResultDirection
from .models import (
    DomainSpamPolicy,
    LearnEvent,
    MailboxSpamPolicy,
    OutboundFlag,
    SpamHost,
    SpamResult,
    Verdict,
)
from .rendering import effective
from .scanlog import Scan, parse_lines

MAX_BYTES = 32 * 1024 * 1024  # per run and log; the next run goes on from there
FLAG_WINDOW = timedelta(hours=1)


def line_key(*parts: str) -> int:
    digest = hashlib.blake2b("\x00".join(parts).encode("utf-8", "replace"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1  # fits a signed 64-bit column


def find_rotated(path: str, inode: int) -> str | None:
    for candidate in sorted(glob.glob(glob.escape(path) + "?*")):
        try:
            if os.stat(candidate).st_ino == inode and not candidate.endswith((".gz", ".xz", ".bz2", ".zst")):
                return candidate
        except OSError:
            continue
    return None


def read_new_lines(path: str, inode: int, offset: int) -> tuple[list[tuple[str, str]], int, int]:
    """[(position, line)], new inode, new offset: whole lines appended since (inode, offset), rotation
    followed. A line's position ("inode:offset") tells apart two lines with the same text."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return [], inode, offset
    lines: list[tuple[str, str]] = []
    if inode and inode != stat.st_ino:
        rotated = find_rotated(path, inode)
        if rotated is not None:
            lines += read_from(rotated, inode, offset)[0]
        offset = 0
    elif offset > stat.st_size:
        offset = 0
    more, offset = read_from(path, stat.st_ino, offset)
    return lines + more, stat.st_ino, offset


def read_from(path: str, inode: int, offset: int) -> tuple[list[tuple[str, str]], int]:
    with open(path, "rb") as log:
        log.seek(offset)
        data = log.read(MAX_BYTES)
    end = data.rfind(b"\n") + 1
    lines, position = [], offset
    for raw in data[:end].splitlines(keepends=True):
        lines.append((f"{inode}:{position}", raw.decode("utf-8", "replace").rstrip("\r\n")))
        position += len(raw)
    return lines, offset + end


class Recipients:
    """Hosted domains and mailboxes by address, with the Junk threshold each mailbox has now."""

    def __init__(self, addresses: set[str]):
        names = {address.rpartition("@")[2] for address in addresses}
        self.domains = {d.name: d for d in Domain.objects.verified().filter(name__in=names)}
        self.mailboxes: dict[str, Mailbox] = {}
        locals_by_domain = defaultdict(set)
        for address in addresses:
            local, _at, name = address.rpartition("@")
            if name in self.domains:
                locals_by_domain[self.domains[name].pk].add(local)
        for domain_id, local_parts in locals_by_domain.items():
            for mailbox in Mailbox.objects.filter(
                domain_id=domain_id, local_part__in=local_parts, deleted_at__isnull=True
            ).select_related("domain"):
                self.mailboxes[mailbox.address.lower()] = mailbox
        domain_ids = [d.pk for d in self.domains.values()]
        self.domain_policies = {
            p.domain_id: p for p in DomainSpamPolicy.objects.filter(domain_id__in=domain_ids)
        }
        self.mailbox_policies = {
            p.mailbox_id: p
            for p in MailboxSpamPolicy.objects.filter(mailbox_id__in=[m.pk for m in self.mailboxes.values()])
        }

    def domain_of(self, address: str) -> Domain | None:
        return self.domains.get(address.rpartition("@")[2])

    def junk_score(self, mailbox: Mailbox) -> int | None:
        settings_now = effective(
            self.domain_policies.get(mailbox.domain_id), self.mailbox_policies.get(mailbox.pk)
        )
        return settings_now.junk_score if settings_now.is_enabled else None


def results_of(scans: list[tuple[Scan, str]], host: str) -> list[SpamResult]:
    addresses = {r for scan, _position in scans for r in scan.recipients}
    for scan, _position in scans:
        if scan.user:  # outgoing: the sender's domain names the customer; a mailbox login is a mailbox
            addresses |= {scan.sender.lower(), scan.user.lower()}
    known = Recipients(addresses)
    rows = []
    for scan, position in scans:
        base = {
            "host": host,
            "queue_id": scan.queue_id,
            "at": scan.at,
            "sender": scan.sender[:320],
            "score": scan.score,
            "symbols": scan.symbols,
        }
        if scan.user:
            rows.append(outbound_row(scan, position, base, known))
            continue
        for recipient in scan.recipients:
            rows.append(inbound_row(scan, position, recipient, base, known))
    return rows


def outbound_row(scan: Scan, position: str, base: dict, known: Recipients) -> SpamResult:
    domain = known.domain_of(scan.sender.lower())
    return SpamResult(
        **base,
        direction=ResultDirection.OUTBOUND,
        recipient=", ".join(scan.recipients)[:320],
        login=scan.user[:320],
        customer_id=domain.customer_id if domain else None,
        domain=domain,
        mailbox=known.mailboxes.get(scan.user.lower()),
        verdict=Verdict.REFUSED if scan.refused else Verdict.DELIVERED,
        line_key=line_key(base["host"], position),
    )


def inbound_row(scan: Scan, position: str, recipient: str, base: dict, known: Recipients) -> SpamResult:
    domain = known.domain_of(recipient)
    mailbox = known.mailboxes.get(recipient)
    verdict = Verdict.DELIVERED
    if scan.refused:
        verdict = Verdict.REFUSED
    elif mailbox is not None:
        junk_score = known.junk_score(mailbox)
        if junk_score is not None and scan.score >= junk_score:
            verdict = Verdict.JUNK
    return SpamResult(
        **base,
        direction=ResultDirection.INBOUND,
        recipient=recipient[:320],
        customer_id=domain.customer_id if domain else None,
        domain=domain,
        mailbox=mailbox,
        verdict=verdict,
        line_key=line_key(base["host"], position, recipient),
    )


def learn_events(lines: list[tuple[str, str]], host: str) -> list[LearnEvent]:
    """`2026-12-06T04:54:05Z spam learned jan@bakkerij.nl` lines (deploy/dovecot/sieve/bin/learn-*)."""
    parsed = []
    for position, line in lines:
        parts = line.split(" ")
        if len(parts) != 4 or parts[1] not in LearnEvent.Kind.values:
            continue
        try:
            at = datetime.strptime(parts[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=ZoneInfo("UTC"))
        except ValueError:
            continue
        parsed.append((at, parts[1], parts[2] == "learned", parts[3].strip().lower(), position))
    known = Recipients({address for *_rest, address, _position in parsed})
    return [
        LearnEvent(
            at=at,
            kind=kind,
            learned=learned,
            mailbox=known.mailboxes[address],
            line_key=line_key(host, position),
        )
        for at, kind, learned, address, position in parsed
        if address in known.mailboxes
    ]


def ingest_host(spam_host: SpamHost) -> int:
    """Read both logs of one host; returns how many results were stored."""
    host = spam_host.mailhost.name
    tz = ZoneInfo(settings.RELAY_LOG_TIMEZONE)
    lines, scan_inode, scan_offset = read_new_lines(
        spam_host.scan_log, spam_host.scan_inode, spam_host.scan_offset
    )
    scans = [(scan, position) for (position, line) in lines for scan in parse_lines([line], tz=tz)]
    learn_lines, learn_inode, learn_offset = ([], 0, 0)
    if spam_host.learn_log:
        learn_lines, learn_inode, learn_offset = read_new_lines(
            spam_host.learn_log, spam_host.learn_inode, spam_host.learn_offset
        )
    with transaction.atomic():
        stored = store(scans, learn_lines, host)
        SpamHost.objects.filter(pk=spam_host.pk).update(
            scan_inode=scan_inode, scan_offset=scan_offset, learn_inode=learn_inode, learn_offset=learn_offset
        )
    return stored


def ingest_lines(scan_lines: list[str], learn_lines: list[str], *, host: str) -> int:
    """Store log lines handed over directly (the demo data); a line's number is its position."""
    tz = ZoneInfo(settings.RELAY_LOG_TIMEZONE)
    scans = [(scan, f"lines:{n}") for n, line in enumerate(scan_lines) for scan in parse_lines([line], tz=tz)]
    with transaction.atomic():
        return store(scans, [(f"lines:{n}", line) for n, line in enumerate(learn_lines)], host)


def store(scans: list[tuple[Scan, str]], learn_lines: list[tuple[str, str]], host: str) -> int:
    rows = results_of(scans, host)
    SpamResult.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    LearnEvent.objects.bulk_create(learn_events(learn_lines, host), ignore_conflicts=True)
    logins = {row.login for row in rows if row.login and row.verdict == Verdict.REFUSED}
    if logins:
        flag_logins(logins)
    return len(rows)


def flag_logins(logins: set[str]) -> list[OutboundFlag]:
    """Flag each login whose outgoing mail was refused as spam `SPAM_OUTBOUND_FLAG_AFTER` times within an hour
    (counted back from its latest refusal) and has no open flag; e-mail its customer's owners."""
    flags = []
    for login in sorted(logins):
        refused = SpamResult.objects.filter(
            login=login, direction=ResultDirection.OUTBOUND, verdict=Verdict.REFUSED
        ).order_by("-at")
        latest = refused.first()
        if latest is None or OutboundFlag.objects.filter(login=login, resolved_at__isnull=True).exists():
            continue
        window = refused.filter(at__gt=latest.at - FLAG_WINDOW)
        count = window.count()
        if count < settings.SPAM_OUTBOUND_FLAG_AFTER:
            continue
        flag = OutboundFlag.objects.create(
            login=login,
            customer_id=latest.customer_id,
            mailbox_id=latest.mailbox_id,
            refused=count,
            first_refused_at=window.order_by("at").values_list("at", flat=True).first(),
        )
        transaction.on_commit(lambda flag_id=flag.pk: notify_owners(flag_id))
        flags.append(flag)
    return flags


def notify_owners(flag_id: int) -> None:
    """E-mail the customer's owners about a flagged login (once per flag)."""
    claimed = OutboundFlag.objects.filter(pk=flag_id, owners_notified_at__isnull=True).update(
        owners_notified_at=timezone.now()
    )
    flag = OutboundFlag.objects.select_related("customer").get(pk=flag_id)
    if not claimed or flag.customer is None:
        return
    owners = list(
        Membership.objects.filter(customer=flag.customer, role=Membership.Role.OWNER).values_list(
            "user__email", flat=True
        )
    )
    if not owners:
        return
    context = {"login": flag.login, "refused": flag.refused, "spam_url": site_link("spamfilter:overview")}
    send_customer_email(
        customer=flag.customer, name="spamfilter/email/outbound_flag", context=context, to=owners
    )
