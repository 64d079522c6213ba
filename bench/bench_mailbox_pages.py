"""Benchmark: mailbox list, search, alias list and dashboard with 100,000 mailboxes in the database.

Seeds 1,000 customers, 5,000 domains and 100,000 mailboxes (bulk_create) into a throw-away test
database, then times each page for two customers over repeated requests with Django's test Client
(server time: request in, response out, no network) and counts its queries. Prints p50/p95.

    .venv/bin/python bench/bench_mailbox_pages.py                      # SQLite (a file in var/)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postbode \\
        .venv/bin/python bench/bench_mailbox_pages.py                  # PostgreSQL (creates test_postbode)

Options: --requests N (default 50), --mailboxes N (default 100000), --keep (keep the database).
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postbode.settings")
os.environ.setdefault("DEBUG", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

CUSTOMERS = 1_000
DOMAINS = 5_000
BIG_CUSTOMER_MAILBOXES = 5_000
PASSWORD_HASH = "{SHA512-CRYPT}$6$benchbenchbench$" + "x" * 86
MB = 1024**2


def create_database() -> str:
    """A database of its own (never the test suite's `test_<name>`, which it would clobber)."""
    if connection.vendor == "sqlite":
        test_name = str(settings.VAR_DIR / "bench_mailbox_pages.sqlite3")
    else:
        test_name = f"bench_mailbox_pages_{connection.settings_dict['NAME']}"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = test_name
    return connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)


def seed(total_mailboxes: int):
    """1,000 customers with 5 domains each; the first customer has 5,000 mailboxes, the rest share the others."""
    from mailaccounts.models import Alias, Domain, Mailbox
    from mailhosts.models import MailHost
    from tenants.models import Customer, Membership, Plan, User

    started = time.perf_counter()
    plan = Plan.objects.get(code="professional")
    host = MailHost.objects.default()
    MailHost.objects.filter(pk=host.pk).update(applied_revision=1, desired_revision=2)
    customers = Customer.objects.bulk_create(
        Customer(
            name=f"Klant {i:04d}",
            billing_email=f"klant{i}@example.org",
            address="Damrak 1",
            postal_code="1012 LG",
            city="Amsterdam",
            plan=plan,
        )
        for i in range(CUSTOMERS)
    )
    now = timezone.now()
    domains = Domain.objects.bulk_create(
        (
            Domain(
                customer=customers[i // 5],
                name=f"domein{i:05d}.example",
                mailhost=host,
                verification_token=f"t{i}",
                verified_at=now,
            )
            for i in range(DOMAINS)
        ),
        batch_size=2_000,
    )
    big_domains, other_domains = domains[:5], domains[5:]
    big_count = min(BIG_CUSTOMER_MAILBOXES, total_mailboxes)

    def mailboxes():
        for i in range(big_count):
            yield Mailbox(
                customer=customers[0],
                domain=big_domains[i % 5],
                local_part=f"medewerker{i:05d}",
                password_hash=PASSWORD_HASH,
                quota_bytes=(i % 9 + 1) * MB,
                used_bytes=i * 100,
                revision=i % 3,
            )
        for i in range(total_mailboxes - big_count):
            domain = other_domains[i % len(other_domains)]
            yield Mailbox(
                customer_id=domain.customer_id,
                domain=domain,
                local_part=f"user{i:06d}",
                password_hash=PASSWORD_HASH,
                quota_bytes=(i % 9 + 1) * MB,
                used_bytes=i,
                revision=i % 3,
            )

    Mailbox.objects.bulk_create(mailboxes(), batch_size=5_000)
    Alias.objects.bulk_create(
        (
            Alias(
                customer=customers[0],
                domain=big_domains[i % 5],
                local_part=f"alias{i:05d}",
                destinations=[f"medewerker{i:05d}@{big_domains[i % 5].name}"],
            )
            for i in range(1_000)
        ),
        batch_size=1_000,
    )
    users = []
    for index in (0, 500):
        user = User.objects.create_user(email=f"eigenaar{index}@example.org", password=None)
        Membership.objects.create(user=user, customer=customers[index], role=Membership.Role.OWNER)
        users.append(user)
    with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum would give a real database
        cursor.execute("ANALYZE")
    return users, time.perf_counter() - started


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(client: Client, url: str, requests: int) -> dict:
    """p50/p95 of wall-clock and of this process's CPU time per request, and the query count.

    CPU time leaves out time spent waiting for a busy machine's cores (and PostgreSQL's own work in its
    server process), so it stays meaningful when other jobs share the machine.
    """
    client.get(url)  # warm caches and the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    query_count = len(queries.captured_queries)  # now: the next request_started resets the query log
    wall, cpu = [], []
    for _ in range(requests):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200
    return {
        "p50": percentile(wall, 0.50),
        "p95": percentile(wall, 0.95),
        "cpu50": percentile(cpu, 0.50),
        "cpu95": percentile(cpu, 0.95),
        "queries": query_count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args()

    settings.ALLOWED_HOSTS = ["*"]
    original_name = connection.settings_dict["NAME"]
    name = create_database()
    try:
        (big_owner, typical_owner), seconds = seed(args.mailboxes)
        from mailaccounts.models import Mailbox

        print(f"database: {connection.vendor} ({name})")
        print(
            f"seeded {Mailbox.objects.count():,} mailboxes over {DOMAINS:,} domains and {CUSTOMERS:,} customers in {seconds:.1f} s"
        )
        pages = [
            ("mailbox list", "/mailboxes/"),
            ("mailbox list, page 40, by usage", "/mailboxes/?sort=-usage&page=40"),
            ("mailbox search", "/mailboxes/?q=medewerker0042"),
            ("mailbox search by address", "/mailboxes/?q=medewerker01234@domein00004"),
            ("alias list", "/aliases/"),
            ("dashboard", "/"),
        ]
        print(f"\n{args.requests} requests per page; times in ms (server time, Django test Client)")
        print(f"machine load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
        print(
            f"{'customer':<28} {'page':<34} {'p50':>7} {'p95':>7} {'cpu p50':>8} {'cpu p95':>8} {'queries':>8}"
        )
        for label, user in (("5,000 mailboxes", big_owner), ("typical (~19 mailboxes)", typical_owner)):
            client = Client()
            client.force_login(user)
            for page, url in pages:
                m = measure(client, url, args.requests)
                print(
                    f"{label:<28} {page:<34} {m['p50']:7.1f} {m['p95']:7.1f} "
                    f"{m['cpu50']:8.1f} {m['cpu95']:8.1f} {m['queries']:8d}"
                )
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(original_name, verbosity=0)


if __name__ == "__main__":
    main()
