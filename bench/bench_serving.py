"""Benchmark: the panel in production (Gunicorn, WhiteNoise) under 50 concurrent logged-in customers.

1. Seeds 100,000 mailboxes over 1,000 customers and 5,000 domains (bench_mailbox_pages.seed) plus a relay
   log of 200 messages for each of the first 50 customers into a database of its own (PostgreSQL).
2. Starts Gunicorn with deploy/gunicorn.conf.py on a loopback port (`MAILSTACK_PORT_BASE` + 90) against it,
   DEBUG off, exactly as deploy/systemd/postbode-web.service runs it.
3. A second process drives it: 50 customers' owners (each their own session cookie and keep-alive
   connection, one thread each) browse the dashboard, the mailbox list and the relay log in turn for
   `--seconds` seconds after a warm-up, reading each page about `--think` seconds (default 1; 0 makes it a
   stress test of 50 clients that never pause). Prints requests per second, p50/p95/p99 per page and overall,
   and the errors (any status but 200, or a failed connection). Target: p95 under 100 ms, no errors.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postbode .venv/bin/python bench/bench_serving.py
    ... --mailboxes 20000 --seconds 10     # a quick look
"""

import argparse
import http.client
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postbode.settings")
os.environ.setdefault("DEBUG", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

CUSTOMERS_BROWSING = 50
RELAY_MESSAGES_EACH = 200


def create_database() -> str:
    if connection.vendor != "postgresql":
        raise SystemExit(
            "bench_serving needs PostgreSQL (DATABASE_URL): Gunicorn's workers share the database"
        )
    test_name = f"bench_serving_{connection.settings_dict['NAME']}"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = test_name
    return connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)


def seed_browsing_customers(total_mailboxes: int) -> list[str]:
    """The data, and a session cookie for the owner of each of the first 50 customers."""
    from bench_mailbox_pages import seed

    from relay.models import Direction, RelayMessage, Status
    from tenants.models import Customer, Membership, User

    started = time.perf_counter()
    seed(total_mailboxes)
    customers = list(Customer.objects.order_by("pk")[:CUSTOMERS_BROWSING])
    now = timezone.now()
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
    cookies = []
    for customer in customers:
        user = Membership.objects.filter(customer=customer, role=Membership.Role.OWNER).first()
        user = user.user if user else User.objects.create_user(email=f"bench{customer.pk}@example.org")
        if not Membership.objects.filter(customer=customer, user=user).exists():
            Membership.objects.create(user=user, customer=customer, role=Membership.Role.OWNER)
        client = Client()
        client.force_login(user)
        cookies.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"seeded {total_mailboxes:,} mailboxes and {len(cookies)} browsing customers in "
        f"{time.perf_counter() - started:.0f} s"
    )
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
    deadline = time.monotonic() + 60
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


def browse(port, cookie, pages, warmup_until, stop_at, results, think):
    """One customer: the pages in turn on one keep-alive connection until `stop_at`, reading each page for
    `think` seconds on average (0.5 to 1.5 times it; 0: at once, a stress test)."""
    pause = random.Random(cookie)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}", "Accept-Language": "nl"}
    number = 0
    while time.monotonic() < stop_at:
        name, url = pages[number % len(pages)]
        number += 1
        started = time.monotonic()
        try:
            conn.request("GET", url, headers=headers)
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        if started >= warmup_until:
            results.append((name, time.monotonic() - started, ok))
        if think:
            time.sleep(think * pause.uniform(0.5, 1.5))


def drive(port, cookies, pages, seconds, warmup, think, out):
    """The load, in a process of its own: one thread per customer."""
    results: list = []
    warmup_until = time.monotonic() + warmup
    stop_at = warmup_until + seconds
    threads = [
        threading.Thread(target=browse, args=(port, cookie, pages, warmup_until, stop_at, results, think))
        for cookie in cookies
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(results)


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


def report(results, seconds):
    print(f"{len(results):,} requests in {seconds} s: {len(results) / seconds:.0f} requests/s")
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--workers", type=int, default=None, help="Gunicorn workers (default: its config)")
    parser.add_argument("--think", type=float, default=1.0, help="seconds a customer reads a page (0: none)")
    options = parser.parse_args()
    port = int(os.environ.get("MAILSTACK_PORT_BASE", "20000")) + 90
    old_name = connection.settings_dict["NAME"]
    create_database()
    gunicorn = None
    try:
        cookies = seed_browsing_customers(options.mailboxes)
        connection.close()
        gunicorn = start_gunicorn(port, options.workers)
        pages = [
            ("dashboard", reverse("dashboard")),
            ("mailbox list", reverse("mailaccounts:mailbox_list")),
            ("relay log", reverse("relay:message_list")),
        ]
        out = multiprocessing.get_context("fork").Queue()
        driver = multiprocessing.get_context("fork").Process(
            target=drive, args=(port, cookies, pages, options.seconds, options.warmup, options.think, out)
        )
        driver.start()
        results = out.get()
        driver.join()
        print(
            f"Gunicorn ({os.environ.get('POSTBODE_WEB_WORKERS') or options.workers or 'config'} workers), "
            f"{len(cookies)} customers browsing (reading each page {options.think} s on average), "
            f"{options.mailboxes:,} mailboxes:"
        )
        report(results, options.seconds)
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
