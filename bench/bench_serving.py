"""Benchmark: the panel in production (Gunicorn, WhiteNoise) under 50 concurrent logged-in customers.

1. Seeds 100,000 mailboxes over 1,000 customers and 5,000 domains (bench_mailbox_pages.seed) plus a relay
   log of 200 messages (one recipient each, five on every fifth) for each of the first 50 customers into a
   database of its own (PostgreSQL); `--keep` keeps it for the next run, which then seeds nothing.
2. Starts Gunicorn with deploy/gunicorn.conf.py on a loopback port (`MAILSTACK_PORT_BASE` + 90) against it,
   DEBUG off, exactly as deploy/systemd/postbode-web.service runs it.
3. A second process drives it: 50 customers' owners (each their own session cookie and keep-alive
   connection, one asyncio task each in one event loop, raw HTTP/1.1: light on the cores it shares with the
   server) browse the dashboard, the mailbox list and the relay log in turn for `--seconds` seconds after a
   warm-up, reading each page about `--think` seconds (default 1; 0 makes it a stress test of 50 clients that
   never pause). Prints requests per second, p50/p95/p99 per page and overall, the errors (any status but
   200, a failed connection, or over 10 s), the CPU time over the measured window of Gunicorn (master and
   workers), of the PostgreSQL backends serving it and of the load generator itself, per request, and the
   load average. Target: p95 under 100 ms, no errors.
4. `--profile N` runs no server: each page N times in this process through Django's WSGI handler (what a
   worker runs): CPU ms per request (p50, mean), queries and their time; `--top K` adds cProfile's K
   costliest functions per page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postbode REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/bench_serving.py --keep
    ... --mailboxes 20000 --seconds 10     # a quick look
    ... --keep --profile 100               # server CPU per page, in process
"""

import argparse
import asyncio
import http.client
import multiprocessing
import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postbode.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("DB_CONN_MAX_AGE", "600")  # as deploy/gunicorn.conf.py gives each worker

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

CUSTOMERS_BROWSING = 50
DATABASE_NAME = connection.settings_dict["NAME"]  # DATABASE_URL's; the benchmark's own is bench_serving_<it>
RELAY_MESSAGES_EACH = 200
RECIPIENTS_EVERY_FIFTH = 5  # one recipient a message, five on every fifth ("and 2 more" on the page)


def create_database(keep: bool) -> str:
    if connection.vendor != "postgresql":
        raise SystemExit(
            "bench_serving needs PostgreSQL (DATABASE_URL): Gunicorn's workers share the database"
        )
    test_name = f"bench_serving_{DATABASE_NAME}"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = test_name
    return connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=keep)


def seeded(total_mailboxes: int) -> bool:
    """A kept database (--keep) already holds this benchmark's data."""
    from mailaccounts.models import Mailbox
    from relay.models import RelayMessage, RelayRecipient

    return (
        Mailbox.objects.count() == total_mailboxes
        and RelayMessage.objects.count() == CUSTOMERS_BROWSING * RELAY_MESSAGES_EACH
        and RelayRecipient.objects.exists()
    )


def seed_browsing_customers(total_mailboxes: int) -> None:
    """100,000 mailboxes (bench_mailbox_pages.seed) and a relay log for each of the first 50 customers."""
    from bench_mailbox_pages import seed

    from relay import partitions, rollup
    from relay.models import Direction, RelayMessage, RelayRecipient, Status
    from tenants.models import Customer

    started = time.perf_counter()
    seed(total_mailboxes)
    customers = list(Customer.objects.order_by("pk")[:CUSTOMERS_BROWSING])
    now = timezone.now()
    span = (now - timedelta(minutes=7 * RELAY_MESSAGES_EACH), now)
    partitions.ensure_span(span)  # the relay log's tables are partitioned by day on PostgreSQL
    RelayMessage.objects.bulk_create(
        (
            RelayMessage(
                host="mx1",
                queue_id=f"Q{c.pk:05d}{n:04d}",
                received_at=now - timedelta(minutes=7 * n),
                customer=c,
                direction=Direction.OUTBOUND,
                sender=f"factuur@klant{c.pk}.example",
                message_id=f"<{c.pk}.{n}@klant.example>",
                size=2_000 + n,
                status=Status.SENT,
            )
            for c in customers
            for n in range(RELAY_MESSAGES_EACH)
        ),
        batch_size=5_000,
    )
    messages = RelayMessage.objects.filter(customer__in=customers).values_list(
        "pk", "customer_id", "received_at"
    )
    RelayRecipient.objects.bulk_create(
        (
            RelayRecipient(
                message_id=pk,
                address=f"klant{number}@ontvanger{customer_id}.example",
                status=Status.SENT,
                dsn="2.0.0",
                relay="mx.ontvanger.example[192.0.2.25]:25",
                response="250 2.0.0 Ok: queued",
                at=received_at,
                received_at=received_at,
            )
            for pk, customer_id, received_at in messages.iterator()
            for number in range(RECIPIENTS_EVERY_FIFTH if pk % 5 == 0 else 1)
        ),
        batch_size=5_000,
    )
    rollup.mark_span(span)
    rollup.refresh()  # the chart reads the daily roll-up, as after an ingest run
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"seeded {total_mailboxes:,} mailboxes and {len(customers)} browsing customers' relay logs "
        f"({RelayMessage.objects.count():,} messages to {RelayRecipient.objects.count():,} recipients) in "
        f"{time.perf_counter() - started:.0f} s"
    )


def session_cookies() -> list[str]:
    """A session cookie for the owner of each of the first 50 customers (signed in as a browser would be)."""
    from tenants.models import Customer, Membership, User

    cookies = []
    for customer in Customer.objects.order_by("pk")[:CUSTOMERS_BROWSING]:
        user = Membership.objects.filter(customer=customer, role=Membership.Role.OWNER).first()
        user = user.user if user else User.objects.create_user(email=f"bench{customer.pk}@example.org")
        if not Membership.objects.filter(customer=customer, user=user).exists():
            Membership.objects.create(user=user, customer=customer, role=Membership.Role.OWNER)
        client = Client()
        client.force_login(user)
        cookies.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    return cookies


def start_gunicorn(port: int, workers: int | None) -> subprocess.Popen:
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
    if database.get("PASSWORD"):
        url = url.replace("@", f":{database['PASSWORD']}@", 1)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "POSTBODE_WEB_BIND": f"127.0.0.1:{port}",
        "STATIC_ROOT": str(settings.VAR_DIR / "bench-static"),
    }
    if workers:
        env["POSTBODE_WEB_WORKERS"] = str(workers)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    log = open(settings.VAR_DIR / "bench-gunicorn.log", "wb")  # noqa: SIM115 - the child's
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "deploy/gunicorn.conf.py",
            "--access-logfile",
            "/dev/null",
            "postbode.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180  # a busy machine boots five Django workers slowly
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"Gunicorn did not answer on port {port}; see var/bench-gunicorn.log")


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """One HTTP/1.1 response, its body read and dropped: (status, whether the server closes the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip().lower()
    if headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection") == "close"


async def browse(port, cookie, pages, warmup_until, stop_at, results, think):
    """One customer: the pages in turn on a keep-alive connection (a new one when the server closes it, as a
    browser does) until `stop_at`, reading each page for `think` seconds on average (0.5 to 1.5 times it; 0:
    at once, a stress test). A request counts as an error when its status is not 200, its connection fails or
    it takes more than 10 s."""
    pause = random.Random(cookie)
    requests = [
        (
            name,
            (
                f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept-Language: nl\r\n"
                f"Cookie: {settings.SESSION_COOKIE_NAME}={cookie}\r\n\r\n"
            ).encode(),
        )
        for name, url in pages
    ]
    loop = asyncio.get_running_loop()
    connection: tuple | None = None
    number = 0
    await asyncio.sleep(pause.uniform(0, think or 0.01))  # customers do not all start at the same instant
    while loop.time() < stop_at:
        name, request = requests[number % len(requests)]
        number += 1
        started = loop.time()
        ok = False
        for attempt in (1, 2):  # a kept-alive connection the server has just closed: once more on a new one
            reused = connection is not None
            try:
                if connection is None:
                    connection = await asyncio.open_connection("127.0.0.1", port)
                reader, writer = connection
                writer.write(request)
                status, close = await asyncio.wait_for(read_response(reader), 10)
                ok = status == 200
                if close:
                    writer.close()
                    connection = None
                break
            except (OSError, ValueError, TimeoutError, asyncio.IncompleteReadError) as error:
                if connection is not None:
                    connection[1].close()
                connection = None
                stale = isinstance(error, asyncio.IncompleteReadError) and not error.partial
                if not (reused and stale and attempt == 1):
                    break
        if started >= warmup_until:
            results.append((name, loop.time() - started, ok))
        if think:
            await asyncio.sleep(think * pause.uniform(0.5, 1.5))
    if connection is not None:
        connection[1].close()


def drive(port, cookies, pages, warmup_until, stop_at, think, out):
    """The load, in a process of its own: one event loop, one task per customer (light on the cores it shares
    with the server). Sends back the results and its own CPU seconds over the measured window."""

    async def run():
        loop = asyncio.get_running_loop()
        offset = loop.time() - time.monotonic()  # the loop's clock is the monotonic one; to be sure
        results: list = []
        cpu_at_start = []

        async def mark():
            await asyncio.sleep(max(0.0, warmup_until - time.monotonic()))
            cpu_at_start.append(time.process_time())

        marker = asyncio.create_task(mark())
        await asyncio.gather(
            *(
                browse(port, cookie, pages, warmup_until + offset, stop_at + offset, results, think)
                for cookie in cookies
            )
        )
        await marker
        return results, time.process_time() - cpu_at_start[0]

    out.put(asyncio.run(run()))


def cpu_seconds(pids) -> dict[int, float]:
    """User + system CPU seconds of each process (with its children it has waited for: replaced workers)."""
    seconds = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return seconds


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two samples; a process that appeared in between counts whole."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def server_processes(master: int, database: str) -> dict[str, list[int]]:
    """Gunicorn's master and workers, and the PostgreSQL backends serving this benchmark's database."""
    workers = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == master:
                        workers.append(int(entry))
            except OSError:
                continue
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database]
        )
        backends = [row[0] for row in cursor.fetchall()]
    return {"gunicorn": [master, *workers], "postgres": backends}


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


def report(results, seconds, cpu: dict[str, float], load: tuple[float, float]):
    print(f"{len(results):,} requests in {seconds} s: {len(results) / seconds:.0f} requests/s")
    requests = max(1, len(results))
    server = cpu["gunicorn"] + cpu["postgres"]
    print(
        f"  CPU over the measured {seconds} s (user + system): Gunicorn {cpu['gunicorn']:.1f} s "
        f"({cpu['gunicorn'] * 1000 / requests:.1f} ms a request), PostgreSQL {cpu['postgres']:.1f} s "
        f"({cpu['postgres'] * 1000 / requests:.1f} ms a request), together {server * 1000 / requests:.1f} ms "
        f"a request = {server / seconds:.2f} of a core; load generator {cpu['driver']:.1f} s "
        f"({cpu['driver'] * 1000 / requests:.2f} ms a request, {cpu['driver'] / seconds:.2f} of a core)"
    )
    print(
        f"  load average (1 min) {load[0]:.1f} at the start, {load[1]:.1f} at the end, "
        f"on {os.cpu_count()} cores"
    )
    print(f"  {'page':16} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    names = sorted({name for name, _t, _ok in results}) + ["all"]
    for name in names:
        rows = [r for r in results if name in {"all", r[0]}]
        times = [t * 1000 for _n, t, _ok in rows]
        errors = sum(1 for _n, _t, ok in rows if not ok)
        print(
            f"  {name:16} {len(rows):7,} {percentile(times, 0.5):8.1f} {percentile(times, 0.95):8.1f} "
            f"{percentile(times, 0.99):8.1f} {errors:7}"
        )
    print("  target: p95 under 100 ms, 0 errors")


def profile(cookies, pages, requests: int, top: int) -> None:
    """Each page `requests` times in this process through Django's WSGI handler (the code Gunicorn's worker
    runs, DEBUG off, same settings): CPU ms per request, queries and their time, then where the CPU goes."""
    import cProfile
    import pstats

    from django.core.handlers.wsgi import WSGIHandler
    from django.test.client import RequestFactory

    handler = WSGIHandler()
    factory = RequestFactory()
    statements: list[float] = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append(time.perf_counter() - started)

    def request(url: str, cookie: str) -> int:
        environ = factory._base_environ(
            PATH_INFO=url,
            REQUEST_METHOD="GET",
            SERVER_NAME="127.0.0.1",
            HTTP_HOST="127.0.0.1",
            HTTP_COOKIE=f"{settings.SESSION_COOKIE_NAME}={cookie}",
            HTTP_ACCEPT_LANGUAGE="nl",
        )
        status = []
        response = handler(environ, lambda s, headers, exc_info=None: status.append(s))
        b"".join(response)
        response.close()
        return int(status[0].split()[0])

    print(f"server CPU per request, in process ({requests} requests per page, 50 customers in turn):")
    print(
        f"  {'page':14} {'cpu min':>8} {'cpu p50':>8} {'cpu mean':>9} {'wall p50':>9} {'queries':>8} {'query ms':>9}"
    )
    for name, url in pages:
        for cookie in cookies[:5]:  # warm: templates, translations, the database's caches
            assert request(url, cookie) == 200, (name, url)
        statements.clear()
        cpu, wall = [], []
        with connection.execute_wrapper(timed):
            for number in range(requests):
                started, started_cpu = time.perf_counter(), time.process_time()
                assert request(url, cookies[number % len(cookies)]) == 200
                cpu.append((time.process_time() - started_cpu) * 1000)
                wall.append((time.perf_counter() - started) * 1000)
        print(
            f"  {name:14} {min(cpu):8.2f} {percentile(cpu, 0.5):8.2f} {sum(cpu) / requests:9.2f} {percentile(wall, 0.5):9.2f} "
            f"{len(statements) / requests:8.1f} {sum(statements) * 1000 / requests:9.2f}"
        )
    if top:  # per page: the costliest functions of the project (cumulative), then of anything (own time)
        for name, url in pages:
            profiler = cProfile.Profile()
            profiler.enable()
            for number in range(requests):
                request(url, cookies[number % len(cookies)])
            profiler.disable()
            print(f"\n--- {name}: {requests} requests")
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(str(ROOT / "[a-z]*/[a-z]"), top)
            stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--workers", type=int, default=None, help="Gunicorn workers (default: its config)")
    parser.add_argument("--think", type=float, default=1.0, help="seconds a customer reads a page (0: none)")
    parser.add_argument("--keep", action="store_true", help="keep the database, and reuse a kept one")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="no load test: each page N times in this process, CPU and queries per request",
    )
    parser.add_argument("--top", type=int, default=0, help="with --profile: the N costliest functions")
    options = parser.parse_args()
    port = int(os.environ.get("MAILSTACK_PORT_BASE", "20000")) + 90
    old_name = connection.settings_dict["NAME"]
    create_database(keep=options.keep)
    gunicorn = None
    try:
        if not (options.keep and seeded(options.mailboxes)):
            if options.keep:  # a kept database of another size or an older seed: start afresh
                connection.close()
                create_database(keep=False)
            seed_browsing_customers(options.mailboxes)
        cookies = session_cookies()
        pages = [
            ("dashboard", reverse("dashboard")),
            ("mailbox list", reverse("mailaccounts:mailbox_list")),
            ("relay log", reverse("relay:message_list")),
        ]
        if options.profile:
            profile(cookies, pages, options.profile, options.top)
            return
        connection.close()
        gunicorn = start_gunicorn(port, options.workers)
        database = connection.settings_dict["NAME"]
        context = multiprocessing.get_context("fork")
        out = context.Queue()
        warmup_until = time.monotonic() + options.warmup
        stop_at = warmup_until + options.seconds
        driver = context.Process(
            target=drive, args=(port, cookies, pages, warmup_until, stop_at, options.think, out)
        )
        driver.start()
        time.sleep(max(0.0, warmup_until - time.monotonic()))
        processes = server_processes(gunicorn.pid, database)
        before = {name: cpu_seconds(pids) for name, pids in processes.items()}
        load_before = os.getloadavg()[0]
        time.sleep(max(0.0, stop_at - time.monotonic()))
        processes = server_processes(gunicorn.pid, database)
        after = {name: cpu_seconds(pids) for name, pids in processes.items()}
        load_after = os.getloadavg()[0]
        results, driver_cpu = out.get()
        driver.join()
        cpu = {name: cpu_used(before[name], after[name]) for name in after}
        cpu["driver"] = driver_cpu
        print(
            f"Gunicorn ({os.environ.get('POSTBODE_WEB_WORKERS') or options.workers or 'config'} workers, "
            f"{os.environ.get('POSTBODE_WEB_WORKER_CLASS', 'config')} worker class), "
            f"{len(cookies)} customers browsing (reading each page {options.think} s on average), "
            f"{options.mailboxes:,} mailboxes:"
        )
        report(results, options.seconds, cpu, (load_before, load_after))
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        if not options.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
