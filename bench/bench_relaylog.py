"""Relay log benchmark: ingest speed and memory against pflogsumm, and search p95 at scale.

    python bench/bench_relaylog.py [--lines 2000000] [--kind both|plain|varied] [--rows 10000000]
                                   [--skip-search] [--skip-ingest] [--purge]
    python bench/bench_relaylog.py --generate FILE [--kind varied|plain] [--lines N]   # write a log (and,
                                   # given DATABASE_URL, make the bench database)
    python bench/bench_relaylog.py --ingest-once FILE   # empty the relay log, ingest FILE in one run
    python bench/bench_relaylog.py --empty              # only empty it (then time `relaylog ingest` itself)

1. Generates two kinds of Postfix log, interleaved in time order as Postfix writes them:
   - plain: half a day of a busy relay (submission with SASL users, inbound to hosted domains with aliases,
     multi-recipient messages, greylisting deferrals retried minutes later, bounces with their
     notifications, expiries, NOQUEUE rejects, and some noise: connect/disconnect, TLS, anvil, warnings);
   - varied (`bench/maillog.py`): a week of a mail host as real ones log it: messages deferred for days
     with Postfix's retry schedule and expired after five (about 2% of messages), bounce notifications for
     about 8%, rejects at 1.4% of the lines (identical ones in a second too), much authenticated
     submission, postscreen, milter and amavis lines, Dovecot, lost connections, timeouts, brute force.
2. Ingests it into PostgreSQL with Postbode's real pipeline (parse, assemble, store) twice, timing both:
   as the log grows, a quarter at a time, printing lines/s and the peak resident memory after each quarter
   (flat = it does not grow with the log); then the whole log in one run, as `relaylog ingest FILE` reads
   it. Debian's `pflogsumm` summarises the same file before, between and after, and the time ratios print.
3. Fills the relay log with `--rows` recipient rows (SQL, for speed) and measures the panel's relay log
   searches (the same `filter_messages` + `page_of` code the view runs): p50/p95 per kind of filter.
4. With `--purge`: the nightly purge of one day at `--rows` recipient rows, before (plain tables, chunked
   DELETE) and after (tables partitioned by day, the day's partitions dropped).

It works in its own database, `<DATABASE_URL's name>_bench`, created when missing: your data is never
touched. Needs DATABASE_URL pointing at PostgreSQL.
"""

import argparse
import heapq
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
CUSTOMERS = 200
HOST = "mx1"


# ---------------------------------------------------------------------------------------------------------
# The log generator


def stamp(at: datetime) -> str:
    return f"{MONTHS[at.month - 1]} {at.day:2d} {at:%H:%M:%S}"


class LogGenerator:
    """Yields log lines in time order. Each message is a small script of (seconds after start, line)."""

    def __init__(self, seed: int = 7, start: datetime | None = None):
        self.rng = random.Random(seed)
        self.clock = start or datetime(2026, 11, 29, 18, 0, 0)
        self.pending: list[tuple[float, int, str]] = []
        self.serial = 0
        self.queue_serial = 0x1A0000

    def queue_id(self) -> str:
        self.queue_serial += self.rng.randint(1, 40)
        return f"{self.queue_serial:07X}{self.rng.randint(0, 0xFFF):03X}"

    def pid(self) -> int:
        return self.rng.randint(1000, 60000)

    def push(self, at: float, text: str) -> None:
        self.serial += 1
        heapq.heappush(self.pending, (at, self.serial, text))

    def lines(self, count: int):
        emitted = 0
        base = self.clock
        now = 0.0
        while emitted < count:
            now += self.rng.expovariate(6.0)  # about six new SMTP sessions per second
            self.schedule(now)
            while self.pending and self.pending[0][0] <= now:
                at, _serial, text = heapq.heappop(self.pending)
                yield f"{stamp(base + timedelta(seconds=at))} {HOST} {text}\n"
                emitted += 1
                if emitted >= count:
                    return

    def schedule(self, t: float) -> None:
        roll = self.rng.random()
        if roll < 0.62:
            self.outbound(t)
        elif roll < 0.90:
            self.inbound(t)
        elif roll < 0.97:
            self.reject(t)
        else:
            self.noise(t)

    def session(self, t: float, service: str, client: str, ip: str, extra: str = "") -> int:
        pid = self.pid()
        self.push(t, f"postfix/{service}[{pid}]: connect from {client}[{ip}]")
        if service.startswith("submission"):
            self.push(
                t + 0.01,
                f"postfix/{service}[{pid}]: Anonymous TLS connection established from {client}[{ip}]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
            )
        self.push(
            t + 0.5,
            f"postfix/{service}[{pid}]: disconnect from {client}[{ip}] ehlo=2 starttls=1 {extra}mail=1 rcpt=1 data=1 quit=1 commands=8",
        )
        return pid

    def outbound(self, t: float) -> None:
        rng = self.rng
        customer = rng.randrange(CUSTOMERS)
        qid = self.queue_id()
        ip = f"203.0.{customer % 250}.{rng.randint(2, 250)}"
        pid = self.session(t, "submission/smtpd", f"app{customer}.example", ip, "auth=1 ")
        user = f"relay-bench{customer:04d}" if rng.random() < 0.8 else f"info@klant{customer}.example"
        self.push(
            t + 0.05,
            f"postfix/submission/smtpd[{pid}]: {qid}: client=app{customer}.example[{ip}], sasl_method=PLAIN, sasl_username={user}",
        )
        self.push(
            t + 0.06,
            f"postfix/cleanup[{self.pid()}]: {qid}: message-id=<{qid.lower()}.{rng.randint(1, 10**9)}@klant{customer}.example>",
        )
        recipients = [
            f"user{rng.randint(1, 10**6)}@{rng.choice(['gmail.com', 'outlook.com', 'ziggo.nl', 'kpnmail.nl', 'example.org'])}"
            for _ in range(1 if rng.random() < 0.8 else rng.randint(2, 4))
        ]
        sender = f"noreply@klant{customer}.example"
        self.push(
            t + 0.07,
            f"postfix/qmgr[1200]: {qid}: from=<{sender}>, size={rng.randint(900, 90000)}, nrcpt={len(recipients)} (queue active)",
        )
        last = t + 0.07
        for rcpt in recipients:
            last = max(last, self.deliver(t, qid, rcpt, sender))
        self.push(last + 0.1, f"postfix/qmgr[1200]: {qid}: removed")

    def deliver(self, t: float, qid: str, rcpt: str, sender: str) -> float:
        """One recipient's attempts; returns the time of the final one."""
        rng = self.rng
        mx = f"mx{rng.randint(1, 9)}.{rcpt.split('@')[1]}"
        ip = f"198.51.100.{rng.randint(1, 250)}"
        at = t + rng.uniform(0.3, 2.0)
        roll = rng.random()
        self.push(
            at - 0.05,
            f"postfix/smtp[{self.pid()}]: Trusted TLS connection established to {mx}[{ip}]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
        )
        if roll < 0.07:  # greylisted, sent on a retry five to twenty minutes later
            self.push(
                at,
                f"postfix/smtp[{self.pid()}]: {qid}: to=<{rcpt}>, relay={mx}[{ip}]:25, delay={at - t:.1f}, delays=0.05/0.01/0.2/0.3, dsn=4.7.1, status=deferred (host {mx}[{ip}] said: 450 4.7.1 <{rcpt}>: Recipient address rejected: Greylisted, see https://postgrey.schweikert.ch/ (in reply to RCPT TO command))",
            )
            at += rng.uniform(300, 1200)
            self.push(
                at,
                f"postfix/smtp[{self.pid()}]: {qid}: to=<{rcpt}>, relay={mx}[{ip}]:25, delay={at - t:.0f}, delays={at - t - 1:.0f}/0.01/0.2/0.3, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {self.queue_id()})",
            )
        elif roll < 0.10:  # bounced, with a notification back to the sender
            self.push(
                at,
                f"postfix/smtp[{self.pid()}]: {qid}: to=<{rcpt}>, relay={mx}[{ip}]:25, delay={at - t:.1f}, delays=0.05/0.01/0.2/0.3, dsn=5.1.1, status=bounced (host {mx}[{ip}] said: 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))",
            )
            notice = self.queue_id()
            self.push(
                at + 0.01,
                f"postfix/cleanup[{self.pid()}]: {notice}: message-id=<{notice}.bounce@mx1.postbode.example>",
            )
            self.push(
                at + 0.02, f"postfix/bounce[{self.pid()}]: {qid}: sender non-delivery notification: {notice}"
            )
            self.push(at + 0.03, f"postfix/qmgr[1200]: {notice}: from=<>, size=4200, nrcpt=1 (queue active)")
            self.push(
                at + 0.05,
                f"postfix/lmtp[{self.pid()}]: {notice}: to=<{sender}>, relay=127.0.0.1[127.0.0.1]:24, delay=0.03, delays=0/0/0.01/0.02, dsn=2.0.0, status=sent (250 2.0.0 <{sender}> Saved)",
            )
            self.push(at + 0.06, f"postfix/qmgr[1200]: {notice}: removed")
        elif roll < 0.105:  # unreachable: deferred twice, then expired
            for retry in range(2):
                self.push(
                    at + retry * 3600,
                    f"postfix/smtp[{self.pid()}]: {qid}: to=<{rcpt}>, relay=none, delay={at + retry * 3600 - t:.0f}, delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to {mx}[{ip}]:25: Connection timed out)",
                )
            at += 7300
            self.push(at, f"postfix/qmgr[1200]: {qid}: from=<{sender}>, status=expired, returned to sender")
        else:
            self.push(
                at,
                f"postfix/smtp[{self.pid()}]: {qid}: to=<{rcpt}>, relay={mx}[{ip}]:25, delay={at - t:.2f}, delays=0.05/0.01/0.2/0.3, dsn=2.0.0, status=sent (250 2.0.0 OK  {rng.randint(10**9, 10**10)} - gsmtp)",
            )
        return at

    def inbound(self, t: float) -> None:
        rng = self.rng
        customer = rng.randrange(CUSTOMERS)
        qid = self.queue_id()
        ip = f"192.0.2.{rng.randint(1, 250)}"
        client = f"mail{rng.randint(1, 500)}.sender.example"
        pid = self.session(t, "smtpd", client, ip)
        self.push(t + 0.05, f"postfix/smtpd[{pid}]: {qid}: client={client}[{ip}]")
        self.push(
            t + 0.06,
            f"postfix/cleanup[{self.pid()}]: {qid}: message-id=<{rng.randint(1, 10**12)}@sender.example>",
        )
        self.push(
            t + 0.07,
            f"postfix/qmgr[1200]: {qid}: from=<news{rng.randint(1, 99)}@sender.example>, size={rng.randint(2000, 200000)}, nrcpt=1 (queue active)",
        )
        mailbox = f"jan@klant{customer}.example"
        alias = f", orig_to=<info@klant{customer}.example>" if rng.random() < 0.3 else ""
        self.push(
            t + 0.12,
            f"postfix/lmtp[{self.pid()}]: {qid}: to=<{mailbox}>{alias}, relay=127.0.0.1[127.0.0.1]:24, delay=0.07, delays=0.05/0/0.01/0.01, dsn=2.0.0, status=sent (250 2.0.0 <{mailbox}> k8Yq Saved)",
        )
        self.push(t + 0.13, f"postfix/qmgr[1200]: {qid}: removed")

    def reject(self, t: float) -> None:
        rng = self.rng
        ip = f"203.0.113.{rng.randint(1, 250)}"
        pid = self.session(t, "smtpd", "unknown", ip)
        victim = f"user{rng.randint(1, 999)}@elsewhere.example"
        self.push(
            t + 0.1,
            f"postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from unknown[{ip}]: 554 5.7.1 <{victim}>: Relay access denied; from=<spam{rng.randint(1, 10**6)}@spam.example> to=<{victim}> proto=ESMTP helo=<spammer>",
        )

    def noise(self, t: float) -> None:
        rng = self.rng
        choice = rng.random()
        if choice < 0.5:
            self.push(
                t,
                f"postfix/anvil[{self.pid()}]: statistics: max connection rate 3/60s for (smtpd:192.0.2.{rng.randint(1, 250)}) at {stamp(self.clock)}",
            )
        else:
            self.push(
                t,
                f"postfix/smtpd[{self.pid()}]: warning: hostname host{rng.randint(1, 999)}.example does not resolve to address 192.0.2.{rng.randint(1, 250)}: Name or service not known",
            )


def generate(path: Path, lines: int, kind: str = "plain") -> None:
    if kind == "varied":
        from maillog import VariedLog

        source = VariedLog(lines=lines).lines(lines)
    else:
        source = LogGenerator().lines(lines)
    with open(path, "w") as log:
        log.writelines(source)


# ---------------------------------------------------------------------------------------------------------
# Database set-up


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("DATABASE_URL must point at PostgreSQL (postgres://...)")
    base, _slash, name = url.rpartition("/")
    name = name.split("?")[0]
    bench_name = name if name.endswith("_bench") else f"{name}_bench"
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [bench_name]).fetchone():
            conn.execute(f'CREATE DATABASE "{bench_name}"')
    return f"{base}/{bench_name}"


def setup_django() -> None:
    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postbode.settings")
    os.environ.setdefault("DEBUG", "false")  # as in production: no query log kept
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed_customers() -> None:
    """Customers with a domain and a relay credential each, so attribution does real lookups."""
    from django.utils import timezone

    from mailaccounts.models import Domain
    from mailhosts.models import MailHost
    from relay.models import RelayCredential
    from tenants.models import Customer, Plan

    if Customer.objects.filter(name__startswith="Bench ").count() >= CUSTOMERS:
        return
    plan = Plan.objects.order_by("pk").first()
    host = MailHost.objects.default()
    for i in range(CUSTOMERS):
        customer, _created = Customer.objects.get_or_create(
            name=f"Bench {i:04d}",
            defaults={
                "billing_email": f"b{i}@example.com",
                "address": "x",
                "postal_code": "x",
                "city": "x",
                "plan": plan,
            },
        )
        Domain.objects.get_or_create(
            name=f"klant{i}.example",
            defaults={
                "customer": customer,
                "mailhost": host,
                "verification_token": "t",
                "verified_at": timezone.now(),
            },
        )
        RelayCredential.objects.get_or_create(
            username=f"relay-bench{i:04d}",
            defaults={"customer": customer, "name": "bench", "secret_hash": "x"},
        )


def truncate_relay_log() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE relay_relayevent, relay_relayrecipient, relay_rejectedattempt, relay_relaymessage, "
            "relay_ingeststate RESTART IDENTITY"
        )
        cursor.execute("SELECT to_regclass('relay_relaydailycount') IS NOT NULL")
        if cursor.fetchone()[0]:  # the daily roll-up (missing at relay 0010, `--purge`'s "before")
            cursor.execute("TRUNCATE relay_relaydailycount, relay_relaydailypending")


def cpu_seconds() -> float:
    """User and system seconds of this process and of its finished children (the readers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def readers_peak_rss_mb() -> float:
    """The largest peak of the reader processes ingest forks (0 when none ran)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def run_pflogsumm(source: Path) -> float | None:
    pflogsumm = shutil.which("pflogsumm") or "/usr/sbin/pflogsumm"
    if not os.path.exists(pflogsumm):
        return None
    started = time.perf_counter()
    subprocess.run([pflogsumm, str(source)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------------------
# 1 + 2: ingest against pflogsumm


def bench_ingest(lines: int, workdir: Path, kind: str = "plain") -> None:
    from relay import rollup
    from relay.ingest import ingest_file

    source = workdir / f"{kind}.log"
    started = time.perf_counter()
    generate(source, lines, kind)
    size_mb = source.stat().st_size / 1e6
    print(f"\n=== the {kind} log ===")
    print(f"generated {lines:,} lines ({size_mb:.0f} MB) in {time.perf_counter() - started:.1f} s")

    seed_customers()
    # pflogsumm runs before, between and after the two ingests, and each ratio takes the mean of the runs on
    # either side: on a shared machine whose speed drifts, one run on one side would favour whichever ran in
    # the faster spell.
    pflogsumm = [run_pflogsumm(source)]

    truncate_relay_log()
    live = workdir / "maillog"
    live.write_bytes(b"")
    growing = 0.0
    print("\n1. the log growing a quarter at a time, each quarter ingested as the periodic task would:")
    print(f"  {'lines so far':>14} {'lines/s':>10} {'peak RSS MB':>12} {'readers MB':>11}")
    with open(source, "rb") as src, open(live, "ab") as dst:
        for quarter in range(1, 5):
            for _ in range(lines // 4 if quarter < 4 else lines):
                line = src.readline()
                if not line:
                    break
                dst.write(line)
            dst.flush()
            started = time.perf_counter()
            result = ingest_file(str(live), host=HOST)
            rollup.refresh()  # as the periodic task does after each run (`relay.tasks.ingest_source`)
            elapsed = time.perf_counter() - started
            growing += elapsed
            print(
                f"  {quarter * lines // 4:>14,} {result.lines / elapsed:>10,.0f} {peak_rss_mb():>12.0f}"
                f" {readers_peak_rss_mb():>11.0f}"
            )
    print(f"  total: {lines / growing:,.0f} lines/s, {growing:.1f} s")
    print(f"  stored: {stored_counts()}")
    pflogsumm.append(run_pflogsumm(source))

    truncate_relay_log()
    print("\n2. the whole log in one run (a catch-up: `relaylog ingest FILE`):")
    started, cpu = time.perf_counter(), cpu_seconds()
    result = ingest_file(str(source), host=HOST)
    stored_at = time.perf_counter()
    days = rollup.refresh()  # the command and the task rebuild the chart's days after the run: counted
    whole = time.perf_counter() - started
    print(
        f"  {result.lines:,} lines: {result.lines / whole:,.0f} lines/s, {whole:.1f} s"
        f" (CPU {cpu_seconds() - cpu:.1f} s, this process and its readers);"
        f" peak RSS {peak_rss_mb():.0f} MB, readers {readers_peak_rss_mb():.0f} MB"
    )
    print(
        f"  of which the chart's daily roll-up of the {len(days)} days it touched:"
        f" {time.perf_counter() - stored_at:.2f} s"
    )
    print(f"  stored: {stored_counts()}")
    pflogsumm.append(run_pflogsumm(source))

    if None in pflogsumm:
        print("\npflogsumm is not installed (apt install pflogsumm): no comparison")
        return
    runs = ", ".join(f"{t:.1f}" for t in pflogsumm)
    mean = sum(pflogsumm) / len(pflogsumm)
    print(
        f"\npflogsumm (summary only, nothing stored): {lines / mean:,.0f} lines/s, {mean:.1f} s on average"
        f" (runs of {runs} s before, between and after the ingests)"
    )
    for label, elapsed, around in (
        ("the whole log in one run", whole, pflogsumm[1:]),
        ("the log growing a quarter at a time", growing, pflogsumm[:2]),
    ):
        ratio = elapsed / (sum(around) / 2)
        print(f"ratio Postbode / pflogsumm, {label}: {ratio:.2f} (below 1 = faster than pflogsumm)")


def ingest_once(source: Path) -> None:
    """Empty the relay log and ingest `source` in one run with the code of `relaylog ingest FILE` (its
    daily roll-up included): a whole process to time against `pflogsumm FILE` (the database must have been
    set up by an earlier run of this script). Emptying the relay log first is in the whole process's time."""
    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postbode.settings")
    os.environ.setdefault("DEBUG", "false")
    import django

    django.setup()
    from django.core.management import call_command

    seed_customers()
    truncate_relay_log()
    started, cpu = time.perf_counter(), cpu_seconds()
    call_command("relaylog", "ingest", str(source), "--host", HOST)
    elapsed = time.perf_counter() - started
    print(
        f"{count_lines(source):,} lines in {elapsed:.1f} s (CPU {cpu_seconds() - cpu:.1f} s);"
        f" peak RSS {peak_rss_mb():.0f} MB, readers {readers_peak_rss_mb():.0f} MB; stored: {stored_counts()}"
    )


def count_lines(source: Path) -> int:
    with open(source, "rb") as log:
        return sum(block.count(b"\n") for block in iter(lambda: log.read(1 << 20), b""))


def stored_counts() -> str:
    from relay.models import RejectedAttempt, RelayEvent, RelayMessage, RelayRecipient

    return (
        f"{RelayMessage.objects.count():,} messages, {RelayRecipient.objects.count():,} recipients, "
        f"{RelayEvent.objects.count():,} events, {RejectedAttempt.objects.count():,} rejected attempts"
    )


# ---------------------------------------------------------------------------------------------------------
# 3: search at scale


FILL_SQL = """
INSERT INTO relay_relaymessage
    (host, queue_id, received_at, customer_id, credential_id, direction, sender, sasl_username, client,
     message_id, size, nrcpt, status, bounce_queue_id, updated_at)
SELECT 'mx' || (g %% 3), upper(to_hex(g + %(offset)s)), %(start)s::timestamptz + (g * %(spacing)s) * interval '1 second',
       c.id, cr.id, 'outbound', 'noreply' || (g %% 50) || '@klant' || (g %% %(customers)s) || '.example',
       coalesce(cr.username, ''), 'app', '<' || g || '.m@bench>',
       1000 + g %% 90000, 1,
       (ARRAY['sent','sent','sent','sent','sent','sent','sent','deferred','bounced','expired'])[1 + g %% 10], '', now()
FROM generate_series(%(first)s, %(last)s) AS g
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM panel_customer WHERE name LIKE 'Bench %%') AS c
  ON c.n = g %% %(customers)s
LEFT JOIN relay_relaycredential cr ON cr.customer_id = c.id AND (g / %(customers)s) %% 2 = 0
"""
FILL_RECIPIENTS_SQL = """
INSERT INTO relay_relayrecipient (message_id, address, orig_to, status, dsn, relay, delay, response, at{received})
SELECT m.id, 'user' || ((m.id * 7919 + k) %% 2000000) || '@' || (ARRAY['gmail.com','outlook.com','ziggo.nl','kpnmail.nl'])[1 + (m.id + k) %% 4],
       '', m.status, '2.0.0', 'mx.example[198.51.100.7]:25', 0.5, '250 2.0.0 Ok', m.received_at{m_received}
FROM relay_relaymessage m, generate_series(1, %(per_message)s) AS k
WHERE m.id BETWEEN %(first)s AND %(last)s
"""
FILL_START = datetime(2026, 11, 1, tzinfo=UTC)
FILL_DAYS = 30


def _secondary_indexes(cursor, table: str) -> tuple[list, list]:
    """The table's unique/foreign-key constraints and plain indexes (not the primary key), to rebuild later."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('u', 'f')",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT LIKE '%%_pkey' "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        [table, table],
    )
    # A partitioned table's index reads `ON ONLY table`, which would build it for the parent alone.
    return constraints, [(name, sql.replace(" ON ONLY ", " ON ")) for name, sql in cursor.fetchall()]


def has_column(table: str, column: str) -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
            [table, column],
        )
        return cursor.fetchone() is not None


def fill(rows: int, *, again: bool = False) -> None:
    """Fill the relay log with `rows` recipient rows quickly: drop secondary indexes, INSERT ... SELECT, rebuild."""
    from django.db import connection

    from relay import partitions
    from relay.models import RelayRecipient

    have = RelayRecipient.objects.count() if not again else 0
    if have >= rows:
        print(f"relay log already holds {have:,} recipient rows")
        with connection.cursor() as cursor:  # statistics a migration may have added since the fill
            cursor.execute("ANALYZE relay_relaymessage")
        return
    truncate_relay_log()
    seed_customers()
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'relay_relaymessage'")
        if cursor.fetchone()[0] == "p":  # partitioned (not at relay 0010, `--purge`'s "before")
            partitions.ensure_days([FILL_START.date() + timedelta(days=i) for i in range(FILL_DAYS + 1)])
    with_received = has_column("relay_relayrecipient", "received_at")
    recipients_sql = FILL_RECIPIENTS_SQL.format(
        received=", received_at" if with_received else "",
        m_received=", m.received_at" if with_received else "",
    )
    per_message = 2
    messages = rows // per_message
    started = time.perf_counter()
    step = 1_000_000
    tables = ["relay_relaymessage", "relay_relayrecipient"]
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        saved = {table: _secondary_indexes(cursor, table) for table in tables}
        for table, (constraints, indexes) in saved.items():
            for name, _definition in constraints:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _definition in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
        for first in range(0, messages, step):
            last = min(messages, first + step) - 1
            params = {
                "first": first,
                "last": last,
                "offset": 0x100000000,
                "start": FILL_START.isoformat(),
                "spacing": FILL_DAYS * 86400 / messages,
                "customers": CUSTOMERS,
            }
            cursor.execute(FILL_SQL, params)
        cursor.execute("SELECT min(id), max(id) FROM relay_relaymessage")
        low, high = cursor.fetchone()
        for first in range(low, high + 1, step):
            cursor.execute(
                recipients_sql, {"first": first, "last": first + step - 1, "per_message": per_message}
            )
        filled = time.perf_counter()
        for table, (constraints, indexes) in saved.items():
            for _name, definition in indexes:
                cursor.execute(definition)
            for name, definition in constraints:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("ANALYZE relay_relaymessage")
        cursor.execute("ANALYZE relay_relayrecipient")
    print(
        f"filled {messages:,} messages and {RelayRecipient.objects.count():,} recipients in "
        f"{filled - started:.0f} s, indexes rebuilt in {time.perf_counter() - filled:.0f} s"
    )
    if has_column("relay_relaydailycount", "day"):  # the chart's roll-up, as the ingest would have left it
        from relay import rollup

        started = time.perf_counter()
        rollup.mark_days([FILL_START.date() + timedelta(days=i) for i in range(-1, FILL_DAYS + 1)])
        days = rollup.refresh()
        print(f"daily roll-up of {len(days)} days rebuilt in {time.perf_counter() - started:.1f} s")


def bench_search(rows: int, samples: int) -> None:
    from relay.models import RelayCredential, RelayMessage, RelayRecipient
    from relay.search import daily_chart, filter_messages, page_of, rows_found, staff_search
    from tenants.models import Customer

    fill(rows)
    rng = random.Random(11)
    customers = list(Customer.objects.filter(name__startswith="Bench ").values_list("pk", flat=True))
    some_recipients = (
        list(RelayRecipient.objects.order_by("?").values_list("address", flat=True)[:200])
        if rows <= 10**6
        else [f"user{rng.randint(0, 1999999)}@gmail.com" for _ in range(200)]
    )
    kinds = {
        "newest page": lambda: {},
        "older page (cursor)": lambda: {"_after": True},
        "status=bounced": lambda: {"status": "bounced"},
        "time range (one day)": lambda: {"since": date(2026, 11, rng.randint(2, 28)), "until": None},
        "sender": lambda: {
            "sender": f"noreply{rng.randint(0, 49)}@klant{rng.randint(0, CUSTOMERS - 1)}.example"
        },
        "recipient": lambda: {"recipient": rng.choice(some_recipients)},
        "message-id": lambda: {"message_id": f"{rng.randint(0, rows // 2)}.m@bench"},
        "credential": lambda: {"_credential": True},
    }
    credential_of = dict(RelayCredential.objects.values_list("customer_id", "pk"))
    print(
        f"\nrelay log search, {RelayRecipient.objects.count():,} recipient rows, {samples} searches each (ms):"
    )
    print(f"  {'filter':<22} {'p50':>8} {'p95':>8} {'max':>8}")
    all_times = []
    for name, make in kinds.items():
        times = []
        for _ in range(samples):
            filters = make()
            customer = rng.choice(customers)
            if filters.pop("_credential", False):
                filters["credential"] = credential_of[customer]
            queryset = filter_messages(RelayMessage.objects.filter(customer_id=customer), filters)
            cursor = None
            if filters.pop("_after", False):
                cursor = page_of(queryset, None).next_cursor
            if filters.get("since"):
                filters["until"] = filters["since"]
                queryset = filter_messages(RelayMessage.objects.filter(customer_id=customer), filters)
            started = time.perf_counter()
            page = page_of(queryset, cursor)
            len(page.messages)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        all_times += times
        p95 = times[int(0.95 * (len(times) - 1))]
        print(f"  {name:<22} {statistics.median(times):>8.1f} {p95:>8.1f} {times[-1]:>8.1f}")
    all_times.sort()
    print(
        f"  {'all searches':<22} {statistics.median(all_times):>8.1f} {all_times[int(0.95 * (len(all_times) - 1))]:>8.1f} {all_times[-1]:>8.1f}"
    )

    # The relay log page also draws each customer's daily counts per status over two weeks.
    times = []
    for _ in range(samples):
        customer = Customer.objects.get(pk=rng.choice(customers))
        started = time.perf_counter()
        daily_chart(customer, today=date(2026, 11, 30))
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    print(f"  {'daily chart (14 days)':<22} {statistics.median(times):>8.1f} {p95:>8.1f} {times[-1]:>8.1f}")

    # Support staff search the whole log (every customer) from the admin: the same lookups, then its page.
    terms = {
        "queue id": lambda: f"{rng.randint(0, rows // 2) + 0x100000000:X}",
        "message-id": lambda: f"<{rng.randint(0, rows // 2)}.m@bench>",
        "sender": lambda: f"noreply{rng.randint(0, 49)}@klant{rng.randint(0, CUSTOMERS - 1)}.example",
        "recipient": lambda: rng.choice(some_recipients),
        "credential": lambda: f"relay-bench{rng.randrange(CUSTOMERS):04d}",
        "no match": lambda: f"nobody{rng.randint(0, 10**6)}@nowhere.example",
    }
    print(f"\nstaff search in the admin, all customers, {samples} searches each (ms):")
    print(f"  {'term':<22} {'p50':>8} {'p95':>8} {'max':>8}")
    for name, make in terms.items():
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            ids, _cut = staff_search(make())
            list(rows_found(RelayMessage.objects.all(), ids).order_by("-received_at", "-id")[:100])
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        print(f"  {name:<22} {statistics.median(times):>8.1f} {p95:>8.1f} {times[-1]:>8.1f}")


# ---------------------------------------------------------------------------------------------------------
# 4: retention at scale


def backend_cpu_seconds() -> float | None:
    """user+sys CPU seconds of this session's PostgreSQL backend (a local server: read from /proc)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(label: str, work) -> float:
    """Run `work()`, print its wall time, the CPU time of this process and of its PostgreSQL backend."""
    load = os.getloadavg()[0]
    cpu, backend = time.process_time(), backend_cpu_seconds()
    started = time.perf_counter()
    result = work()
    wall = time.perf_counter() - started
    cpu, backend_after = time.process_time() - cpu, backend_cpu_seconds()
    backend_cpu = "n/a" if backend is None or backend_after is None else f"{backend_after - backend:.2f} s"
    print(
        f"  {label}: {wall:.3f} s wall, CPU {cpu:.2f} s here + {backend_cpu} PostgreSQL backend, "
        f"load average {load:.1f}; removed {result}"
    )
    return wall


def bench_purge(rows: int) -> None:
    """The nightly purge of one day at `rows` recipient rows (30 days): before, the relay log's plain tables
    as they were until relay migration 0010 and the purge's chunked DELETE (its code, unchanged, still the
    SQLite path); after, the tables partitioned by day and the day's partitions dropped."""
    from django.core.management import call_command

    from relay.ingest import purge, purge_older_than
    from relay.models import RejectedAttempt, RelayMessage

    today = datetime.now(UTC).date()
    first_day = FILL_START.date()
    print(f"\nretention: the nightly purge of one day at {rows:,} recipient rows over {FILL_DAYS} days")

    truncate_relay_log()
    call_command("migrate", "relay", "0010", verbosity=0)
    fill(rows, again=True)
    cutoff = datetime.combine(first_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    before = timed(
        f"before: plain tables, DELETE in chunks of {purge.PURGE_CHUNK:,} ({first_day})",
        lambda: (
            purge._purge_chunks(RelayMessage.objects.filter(received_at__lt=cutoff)),
            purge._purge_chunks(RejectedAttempt.objects.filter(at__lt=cutoff)),
        ),
    )

    truncate_relay_log()
    call_command("migrate", verbosity=0)
    fill(rows, again=True)
    after = timed(
        f"after: partitioned by day, the day's partitions dropped ({first_day})",
        lambda: purge_older_than((today - first_day - timedelta(days=1)).days),
    )
    print(f"  ratio after / before: {after / before:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lines", type=int, default=2_000_000, help="log lines to generate (default 2,000,000)"
    )
    parser.add_argument(
        "--rows", type=int, default=10_000_000, help="recipient rows for the search benchmark"
    )
    parser.add_argument("--samples", type=int, default=100, help="searches per filter kind")
    parser.add_argument(
        "--kind", choices=["both", "plain", "varied"], default="both", help="which log(s) to ingest"
    )
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument(
        "--purge", action="store_true", help="also time the nightly purge of one day, before and after"
    )
    parser.add_argument("--generate", metavar="FILE", help="only write a log of --kind (plain or varied)")
    parser.add_argument(
        "--ingest-once", metavar="FILE", help="only empty the relay log and ingest FILE in one run"
    )
    parser.add_argument(
        "--empty",
        action="store_true",
        help="only empty the relay log of the bench database and print its DATABASE_URL, so that the next"
        " process timed is `manage.py relaylog ingest FILE --host mx1` itself",
    )
    args = parser.parse_args()
    if args.generate:
        generate(Path(args.generate), args.lines, "plain" if args.kind == "both" else args.kind)
        if os.environ.get("DATABASE_URL"):  # and the bench database, ready for --ingest-once
            setup_django()
            seed_customers()
        return
    if args.ingest_once:
        ingest_once(Path(args.ingest_once))
        return
    if args.empty:
        setup_django()
        seed_customers()
        truncate_relay_log()
        print(os.environ["DATABASE_URL"])
        return
    setup_django()
    with tempfile.TemporaryDirectory(prefix="relaybench-") as workdir:
        if not args.skip_ingest:
            for kind in ("plain", "varied") if args.kind == "both" else (args.kind,):
                bench_ingest(args.lines, Path(workdir), kind)
        if not args.skip_search:
            bench_search(args.rows, args.samples)
        if args.purge:
            bench_purge(args.rows)


if __name__ == "__main__":
    main()
