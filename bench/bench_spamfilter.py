"""Benchmark: what rspamd costs on port 25 of the local mail stack, and where the time goes.

Starts the local mail stack (Postfix, Dovecot, OpenDKIM, rspamd with SPF, DKIM and DMARC asking a local DNS
server that publishes the senders' records, as in production) with a few mailboxes applied from a
throw-away database, then sends 1,000 messages of realistic sizes (log-normal, median about 9 KB: mostly
short text, some newsletters, a few attachments up to 3 MB) to port 25:

- accepted messages per second with 4 clients sending as fast as they can, with rspamd as the milter and
  with `smtpd_milters` emptied (postfix reload), in turns (`--rounds`, default 3), so both see the same
  machine; the median of each (target with rspamd: >= 50/s);
- for the first round with rspamd: the CPU seconds each program used (rspamd, Postfix, Dovecot, this
  script's clients) and everything else on the machine (other people's jobs), and rspamd's own most
  expensive checks (its controller's per-symbol times);
- the time from the end of DATA (the client's final ".") until the message is in the mailbox (its file's
  ctime in the Maildir), p50 and p95, with messages offered at a steady 20/s, so the queue never backs up
  and the difference is rspamd's own (target: rspamd adds at most 50 ms at p95).

    .venv/bin/python bench/bench_spamfilter.py                 # SQLite; needs root and the Debian packages
    .venv/bin/python bench/bench_spamfilter.py --messages 300 --rounds 1   # quicker

The stack runs in var/bench-spamfilter/ with ports from MAILSTACK_PORT_BASE + 500 (default 20500).
"""

import argparse
import os
import random
import re
import shutil
import smtplib
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postbode.settings")
os.environ.setdefault("DEBUG", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from dnslib.server import DNSLogger  # noqa: E402

from tests.dns_server import TestDnsServer  # noqa: E402

WORDS = (
    "brood taart bestelling levering morgen vandaag factuur klant winkel bakker deeg oven meel suiker "
    "boter eieren graag vriendelijke groet afspraak week maandag dinsdag prijs korting vergadering"
).split()
PASSWORD = "Bench-Wachtwoord-2026"
MAILBOXES = 4


def sizes(count: int, rng: random.Random) -> list[int]:
    return [min(int(rng.lognormvariate(9.1, 1.2)), 3_000_000) for _ in range(count)]


def make_message(number: int, size: int, rng: random.Random, recipient: str) -> tuple[str, bytes]:
    message = EmailMessage()
    message_id = f"<bench-{number}-{uuid.uuid4().hex}@elders.example>"
    message["From"] = f"klant{number}@elders.example"
    message["To"] = recipient
    message["Subject"] = f"Bestelling {number}"
    message["Message-ID"] = message_id
    message.set_content(" ".join(rng.choice(WORDS) for _ in range(max(20, min(size, 20_000) // 7))))
    if size > 20_000:
        message.add_attachment(
            os.urandom(size - 20_000), maintype="application", subtype="pdf", filename="f.pdf"
        )
    return message_id, message.as_bytes()


def send(port: int, item, results: dict) -> None:
    message_id, data, recipient = item
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
        smtp.ehlo("mx.elders.example")
        smtp.mail("bench@elders.example")
        smtp.rcpt(recipient)
        smtp.putcmd("data")
        smtp.getreply()
        payload = smtplib._quote_periods(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        if not payload.endswith(b"\r\n"):
            payload += b"\r\n"
        smtp.send(payload + b".\r\n")
        end_of_data = time.time()
        code, _reply = smtp.getreply()
    results[message_id] = (end_of_data, code)


def delivered(maildirs: list[Path], wanted: set[str]) -> dict[str, float]:
    found = {}
    for maildir in maildirs:
        for folder in [maildir / "new", maildir / ".Junk" / "new"]:
            if not folder.exists():
                continue
            for entry in os.scandir(folder):
                with open(entry.path, "rb") as file:
                    head = file.read(8192)
                match = re.search(rb"^Message-ID: (<[^>]+>)", head, re.M | re.I)
                if match and match.group(1).decode() in wanted:
                    found[match.group(1).decode()] = entry.stat().st_ctime
    return found


TICKS = os.sysconf("SC_CLK_TCK")
PROGRAMS = {  # executable → the program it belongs to
    "rspamd": "rspamd",
    "postfix": "Postfix",
    "dovecot": "Dovecot",
    "opendkim": "OpenDKIM",
}


def program_of(pid: str) -> str | None:
    if int(pid) == os.getpid():
        return "this script (the 4 SMTP clients)"
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
    for part, program in PROGRAMS.items():
        if part in exe:
            return program
    return None


def cpu_snapshot() -> tuple[float, dict[tuple[str, str, str], float]]:
    """The machine's busy CPU seconds so far, and each process's CPU seconds (pid, program, its name) so far."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    busy = (sum(fields) - fields[3] - fields[4]) / TICKS  # all but idle and iowait
    processes = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                name, _paren, rest = stat.read().partition(" (")[2].rpartition(")")
        except OSError:
            continue
        values = rest.split()
        processes[(pid, program_of(pid) or "other", name)] = (int(values[11]) + int(values[12])) / TICKS
    return busy, processes


def cpu_report(before, after, elapsed: float, messages: int) -> str:
    """CPU seconds per program between two snapshots; "everything else" is the rest of the machine's."""
    used: dict[str, float] = defaultdict(float)
    by_name: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for key, seconds in after[1].items():
        _pid, program, name = key
        used[program] += seconds - before[1].get(key, 0.0)
        by_name[program][name] += seconds - before[1].get(key, 0.0)
    total = after[0] - before[0]
    ours = sum(seconds for program, seconds in used.items() if program != "other")
    parts = []
    for program, seconds in sorted(used.items()):
        if program == "other" or seconds < 0.05:
            continue
        names = sorted(by_name[program].items(), key=lambda item: -item[1])
        detail = ", ".join(f"{name} {part:.1f}" for name, part in names[:5] if part >= 0.05)
        parts.append(f"{program} {seconds:.1f}" + (f" ({detail})" if len(names) > 1 else ""))
    parts.append(f"everything else on the machine {max(total - ours, 0):.1f}")
    capacity = elapsed * os.cpu_count()
    per_message = 1000 * ours / messages
    return (
        f"CPU seconds in {elapsed:.1f} s ({capacity:.0f} on {os.cpu_count()} cores): "
        + "; ".join(parts)
        + f"\n    the mail stack and its clients: {per_message:.1f} ms CPU per message, i.e. about "
        f"{1000 * os.cpu_count() / per_message:.0f} msg/s if they had the {os.cpu_count()} cores to themselves"
    )


SCAN_TIME = re.compile(rb"scan-time=<([\d.]+)ms[^>]*> postbode-scan")


def scan_times(stack, offset: int) -> tuple[str, int]:
    """rspamd's own time per message (wall clock, from its log) since `offset`; the new offset."""
    with open(stack.path("log", "rspamd.log"), "rb") as log:
        log.seek(offset)
        data = log.read()
    real = sorted(float(value) for value in SCAN_TIME.findall(data))
    if not real:
        return "no scans logged", offset + len(data)
    p95 = real[max(0, int(len(real) * 0.95) - 1)]
    return (
        f"{len(real)} scans, wall clock p50 {statistics.median(real):.1f} ms / p95 {p95:.1f} ms",
        offset + len(data),
    )


def local_dns_server() -> TestDnsServer:
    """The test DNS server, on a free port (its TCP side can find the UDP side's port taken: try again)."""
    for attempt in range(5):
        try:
            return TestDnsServer().start()
        except OSError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def ingest_cost(stack, host) -> str:
    """The panel's side: reading rspamd's log of every message sent above into results (spamfilter.ingest),
    as the host's worker does every few seconds."""
    from spamfilter.ingest import ingest_host
    from spamfilter.models import SpamHost
    from spamfilter.stack import attach

    attach(stack, host)
    spam_host = SpamHost.objects.get(mailhost=host)
    started = time.process_time(), time.monotonic()
    stored = ingest_host(spam_host)
    cpu, wall = time.process_time() - started[0], time.monotonic() - started[1]
    return (
        f"ingesting rspamd's log: {stored} results in {wall:.1f} s ({cpu:.1f} s CPU in this process), "
        f"{1000 * wall / max(stored, 1):.2f} ms per message"
    )


def run(label: str, port: int, items, maildirs, *, rate: float | None) -> dict:
    results: dict = {}
    started = time.monotonic()
    if rate:
        with ThreadPoolExecutor(16) as pool:
            futures = []
            for number, item in enumerate(items):
                delay = started + number / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(send, port, item, results))
            for future in futures:
                future.result()
    else:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda item: send(port, item, results), items))
    elapsed = time.monotonic() - started
    wanted = {message_id for message_id, (_at, code) in results.items() if code == 250}
    deadline = time.monotonic() + 300
    while (found := delivered(maildirs, wanted)) and len(found) < len(wanted) and time.monotonic() < deadline:
        time.sleep(0.5)
    latencies = sorted((found[m] - results[m][0]) * 1000 for m in found)
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    figures = {
        "rate": len(results) / elapsed,
        "p50": statistics.median(latencies),
        "p95": p95,
        "accepted": len(wanted),
        "delivered": len(found),
    }
    print(
        f"  {label:34} {len(results)} sent in {elapsed:5.1f} s = {figures['rate']:6.1f} msg/s; "
        f"{figures['accepted']} accepted, {figures['delivered']} delivered; "
        f"end of DATA -> mailbox p50 {figures['p50']:6.0f} ms, p95 {figures['p95']:6.0f} ms"
    )
    return figures


def postconf_milters(stack, value: str) -> None:
    subprocess.run(["postconf", "-c", str(stack.postfix_etc), "-e", f"smtpd_milters={value}"], check=True)
    subprocess.run(["postfix", "-c", str(stack.postfix_etc), "reload"], check=True, capture_output=True)
    time.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="steady rate for the latency runs (msg/s)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="flat-out runs with and without rspamd, in turns"
    )
    args = parser.parse_args()

    from mailaccounts.models import Domain, Mailbox
    from mailaccounts.passwords import hash_password
    from mailhosts.apply import apply_host
    from mailhosts.models import MailHost
    from mailhosts.rendering import hash_maps
    from mailhosts.stack import MailStack
    from tenants.models import Customer, Plan

    if connection.vendor == "sqlite":
        connection.settings_dict.setdefault("TEST", {})["NAME"] = str(settings.VAR_DIR / "bench_spam.sqlite3")
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    base = settings.MAILSTACK_PORT_BASE + 500
    stack = MailStack(settings.VAR_DIR / "bench-spamfilter", base)
    stack.stop()
    shutil.rmtree(stack.directory, ignore_errors=True)
    config_dir = stack.path("mailhost")
    # the senders' SPF and DMARC records, as rspamd finds them for mail from the internet
    dns = local_dns_server()
    for server in (dns.udp, dns.tcp):
        server.server.logger = DNSLogger("-request,-reply,-truncated", prefix=False)
    dns.set_zone(
        'elders.example. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"\n'
        '_dmarc.elders.example. 300 IN TXT "v=DMARC1; p=none"\n'
    )
    nameserver = override_settings(MAILSTACK_RSPAMD_NAMESERVER=f"127.0.0.1:{dns.port}")
    nameserver.enable()
    stack.prepare(config_dir)
    for rel in hash_maps():
        (config_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (config_dir / rel).touch()
    host = MailHost.objects.create(
        name="bench-spam",
        hostname=stack.hostname,
        queue="mailhost.bench-spam",
        config_dir=str(config_dir),
        **{**stack.host_settings(), "reload_commands": []},
    )
    customer = Customer.objects.create(
        name="Bench", billing_email="b@example.org", plan=Plan.objects.get(code="basis")
    )
    domain = Domain.objects.create(
        customer=customer,
        name="bench.example",
        mailhost=host,
        verification_token="t",
        verified_at=timezone.now(),
    )
    password_hash = hash_password(PASSWORD)
    mailboxes = [
        Mailbox.objects.create(
            customer=customer,
            domain=domain,
            local_part=f"bus{n}",
            password_hash=password_hash,
            quota_bytes=10 * 1024**3,
        )
        for n in range(MAILBOXES)
    ]
    apply_host(host.pk, force=True)
    started = time.monotonic()
    stack.start(config_dir)
    print(
        f"mail stack with rspamd started in {time.monotonic() - started:.1f} s (regex cache in {settings.RSPAMD_HS_CACHE_DIR})"
    )
    try:
        rng = random.Random(17)
        recipients = [m.address for m in mailboxes]
        maildirs = [Path(stack.mail_dir) / "bench.example" / m.local_part / "Maildir" for m in mailboxes]

        def batch():
            return [
                (*make_message(n, size, rng, recipients[n % MAILBOXES]), recipients[n % MAILBOXES])
                for n, size in enumerate(sizes(args.messages, rng))
            ]

        port = stack.ports["smtp"]
        milters = subprocess.run(
            ["postconf", "-c", str(stack.postfix_etc), "-h", "smtpd_milters"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        total = sum(len(data) for _id, data, _r in batch())
        print(
            f"{args.messages} messages per run, {total / 1e6:.0f} MB, median {statistics.median(sizes(args.messages, random.Random(17))) / 1024:.0f} KB"
        )
        print(f"load average at the start: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
        rates: dict[str, list[float]] = {"with rspamd": [], "without rspamd": []}
        for round_number in range(args.rounds):
            for label, value in [("with rspamd", milters), ("without rspamd", "")]:
                postconf_milters(stack, value)
                print(f"{label}, round {round_number + 1}")
                before, started = cpu_snapshot(), time.monotonic()
                log_offset = stack.path("log", "rspamd.log").stat().st_size
                rates[label].append(
                    run("as fast as 4 clients can", port, batch(), maildirs, rate=None)["rate"]
                )
                if round_number == 0:
                    print(
                        "   ", cpu_report(before, cpu_snapshot(), time.monotonic() - started, args.messages)
                    )
                    if value:
                        print("    rspamd's own time per message:", scan_times(stack, log_offset)[0])
        latency = {}
        for label, value in [("with rspamd", milters), ("without rspamd", "")]:
            postconf_milters(stack, value)
            print(label)
            latency[label] = run(f"steady {args.rate:.0f} msg/s", port, batch(), maildirs, rate=args.rate)
        postconf_milters(stack, milters)
        print(ingest_cost(stack, host))
        added = latency["with rspamd"]["p95"] - latency["without rspamd"]["p95"]
        with_rspamd, without = (statistics.median(rates[label]) for label in rates)
        ratio = statistics.median(
            a / b for a, b in zip(rates["with rspamd"], rates["without rspamd"], strict=True)
        )
        print(f"load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
        print(
            f"accepted msg/s, median of {args.rounds}: {with_rspamd:.1f} with rspamd (target >= 50), "
            f"{without:.1f} without (with/without round by round, median {ratio:.2f}); "
            f"rspamd adds {added:.0f} ms at p95 (target <= 50 ms)"
        )
    finally:
        stack.stop()
        nameserver.disable()
        dns.stop()


if __name__ == "__main__":
    main()
