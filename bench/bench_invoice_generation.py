"""Benchmark: the monthly invoice run for many customers, and its idempotent re-run.

Seeds N customers (default 2,000; every third changed plan mid-month) into a throw-away database, then
times generate_invoices() for last month (create, number, issue and e-mail each invoice) and a second run
(which must add nothing), and prints invoices per second and queries per invoice.

    .venv/bin/python bench/bench_invoice_generation.py                # SQLite (a file in var/)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postbode \\
        .venv/bin/python bench/bench_invoice_generation.py            # PostgreSQL (its own database)

Options: --customers N, --keep (keep the database).
"""

import argparse
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postbode.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402


def create_database() -> str:
    if connection.vendor == "sqlite":
        test_name = str(settings.VAR_DIR / "bench_invoice_generation.sqlite3")
    else:
        test_name = f"bench_invoice_generation_{connection.settings_dict['NAME']}"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = test_name
    return connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)


def seed(count: int, month_start) -> None:
    from tenants.models import Customer, Plan, Subscription

    basis, professional = Plan.objects.get(code="basis"), Plan.objects.get(code="professional")
    customers = Customer.objects.bulk_create(
        Customer(
            name=f"Klant {n:05d}",
            billing_email=f"billing{n}@example.com",
            address="Damrak 1",
            postal_code="1012 LG",
            city="Amsterdam",
            plan=basis,
        )
        for n in range(count)
    )
    long_ago = timezone.make_aware(datetime(2025, 1, 1))
    change = timezone.make_aware(datetime.combine(month_start + timedelta(days=14), datetime.min.time()))
    subscriptions = []
    for n, customer in enumerate(customers):
        if n % 3 == 0:
            subscriptions.append(
                Subscription(customer=customer, plan=basis, started_at=long_ago, ended_at=change)
            )
            subscriptions.append(Subscription(customer=customer, plan=professional, started_at=change))
        else:
            subscriptions.append(Subscription(customer=customer, plan=basis, started_at=long_ago))
    Subscription.objects.bulk_create(subscriptions)


def timed_run(month):
    from billing.services import generate_invoices

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        result = generate_invoices(month=month)
        seconds = time.perf_counter() - started
    return result, seconds, queries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from billing.services import previous_month

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    old_name = connection.settings_dict["NAME"]
    create_database()
    try:
        month = previous_month(timezone.localdate())
        seed(args.customers, month)
        print(f"{connection.vendor}, {args.customers} customers, month {month:%Y-%m}")
        result, seconds, queries = timed_run(month)
        made = len(result.created)
        print(
            f"first run:  {made} invoices in {seconds:.2f} s = {made / seconds:.0f} invoices/s, "
            f"{queries / max(made, 1):.1f} queries per invoice"
        )
        result, seconds, queries = timed_run(month)
        print(
            f"second run: {len(result.created)} new invoices, {result.already_invoiced} skipped "
            f"in {seconds:.2f} s ({queries} queries)"
        )
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
