"""Benchmark: applying a mail host with 100,000 mailboxes, and the time from "save" to "live".

1. Render and apply: seeds 100,000 mailboxes over 1,000 domains (with aliases, forwards and a catch-all)
   into a throw-away test database and times `apply_host` for the host: the first apply (every file
   written, every mail folder created, postmap of every map), an apply after one password change (one
   passwd-file and nothing else written), and a forced apply with nothing changed. Target: under 5 s.
2. Save → live: with PostgreSQL and Redis, starts the local mail stack and a real Celery worker, then
   changes a mailbox's password 50 times through the panel's service and measures, for each change, the
   time until the panel shows it live and until an IMAP login with the new password succeeds.
   Target: p95 under 2 s.

    .venv/bin/python bench/bench_apply.py                                    # part 1 on SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postbode \\
    POSTBODE_TEST_REDIS_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/python bench/bench_apply.py                                # both parts on PostgreSQL

Options: --mailboxes N (default 100000), --changes N (default 50), --skip-live (part 1 only).
The stack for part 2 uses ports from MAILSTACK_PORT_BASE + 20 (default 20020) in var/bench-mailstack/.
"""

import argparse
import os
import shutil
import statistics
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
from django.utils import timezone  # noqa: E402

DOMAINS = 1_000
PASSWORD = "Bench-Wachtwoord-2026"


def create_database() -> str:
    if connection.vendor == "sqlite":
        connection.settings_dict.setdefault("TEST", {})["NAME"] = str(
            settings.VAR_DIR / "bench_apply.sqlite3"
        )
    return connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)


def seed(total: int, host):
    """`total` mailboxes over 1,000 domains of 100 customers; every 10th mailbox forwards, every domain
    has an alias to its first two mailboxes and a catch-all."""
    from mailaccounts.models import Alias, Domain, Mailbox
    from mailaccounts.passwords import hash_password
    from tenants.models import Customer, Plan

    plan = Plan.objects.get(code="professional")
    customers = Customer.objects.bulk_create(
        Customer(name=f"Klant {i}", billing_email=f"k{i}@example.org", city="Amsterdam", plan=plan)
        for i in range(100)
    )
    now = timezone.now()
    domains = Domain.objects.bulk_create(
        Domain(
            customer=customers[i % 100],
            name=f"domein{i:04d}.example",
            mailhost=host,
            verification_token=f"t{i}",
            verified_at=now,
        )
        for i in range(DOMAINS)
    )
    password_hash = hash_password(PASSWORD)
    per_domain = total // DOMAINS
    batch = []
    for number in range(total):
        domain = domains[number % DOMAINS]
        batch.append(
            Mailbox(
                customer_id=domain.customer_id,
                domain=domain,
                local_part=f"gebruiker{number // DOMAINS:04d}",
                password_hash=password_hash,
                quota_bytes=1024**3,
                forward_to=[f"extern{number}@elders.example"] if number % 10 == 0 else [],
            )
        )
        if len(batch) == 10_000:
            Mailbox.objects.bulk_create(batch)
            batch = []
    Mailbox.objects.bulk_create(batch)
    Alias.objects.bulk_create(
        Alias(
            customer_id=domain.customer_id,
            domain=domain,
            local_part="info",
            destinations=[f"gebruiker0000@{domain.name}", f"gebruiker0001@{domain.name}"],
        )
        for domain in domains
    )
    first = {m.domain_id: m.pk for m in Mailbox.objects.filter(local_part="gebruiker0000")}
    for domain in domains:
        domain.catch_all_to_id = first[domain.pk]
    Domain.objects.bulk_update(domains, ["catch_all_to"])
    return per_domain


def bench_render_apply(total: int) -> None:
    import mailhosts.revisions

    enqueue = mailhosts.revisions.enqueue_apply
    mailhosts.revisions.enqueue_apply = lambda host_id: None  # this part applies by hand, in-process
    try:
        apply_three_times(total)
    finally:
        mailhosts.revisions.enqueue_apply = enqueue


def apply_three_times(total: int) -> None:
    from mailaccounts.models import Mailbox
    from mailaccounts.passwords import hash_password
    from mailhosts.apply import apply_host
    from mailhosts.models import MailHost
    from mailhosts.revisions import mark_changed

    work = Path(settings.VAR_DIR) / "bench-apply"
    shutil.rmtree(work, ignore_errors=True)
    postfix_dir = work / "postfix-etc"
    postfix_dir.mkdir(parents=True)
    (postfix_dir / "main.cf").write_text("compatibility_level = 3.6\n")
    postmap = ["postmap", "-c", str(postfix_dir)] if shutil.which("postmap") else []
    host = MailHost.objects.create(
        name="bench",
        hostname="mx.bench.example",
        queue="bench",
        config_dir=str(work / "config"),
        postmap_command=postmap,
    )
    started = time.perf_counter()
    seed(total, host)
    print(f"seeded {total:,} mailboxes in {time.perf_counter() - started:.1f} s")
    MailHost.objects.filter(pk=host.pk).update(desired_revision=1)

    started = time.perf_counter()
    first = apply_host(host.pk)
    cold = time.perf_counter() - started
    mailbox = Mailbox.objects.order_by("pk")[total // 2]
    mailbox.password_hash = hash_password("Nieuw-Wachtwoord-1")
    mark_changed(mailbox, host=host)
    mailbox.save(update_fields=["password_hash", "revision"])
    started = time.perf_counter()
    second = apply_host(host.pk)
    one_change = time.perf_counter() - started
    started = time.perf_counter()
    third = apply_host(host.pk, force=True)
    no_change = time.perf_counter() - started
    users = (Path(host.config_dir) / "dovecot/users").stat().st_size
    print(f"render + apply of {total:,} mailboxes ({'with' if postmap else 'without'} postmap):")
    print(
        f"  first apply        {cold:6.2f} s  ({len(first.changed_files)} files, {first.created_folders:,} folders)"
    )
    print(f"  one password later {one_change:6.2f} s  (files written: {', '.join(second.changed_files)})")
    print(f"  forced, no change  {no_change:6.2f} s  ({len(third.changed_files)} files written)")
    print(f"  dovecot/users is {users / 1024**2:.1f} MiB; target: under 5 s")
    shutil.rmtree(work, ignore_errors=True)


def bench_save_to_live(changes: int) -> None:
    import redis

    from mailaccounts.models import Domain
    from mailaccounts.services.mailboxes import create_mailbox, set_mailbox_password
    from mailhosts.models import MailHost
    from mailhosts.stack import MailStack
    from postbode.celery import app
    from tenants.audit import Actor
    from tenants.models import Customer, Plan
    from tests.integration.conftest import (
        CeleryWorker,
        MailClient,
        bootstrap_maps,
        database_url_of,
        use_broker,
    )

    broker = os.environ.get("POSTBODE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    redis.Redis.from_url(broker).flushdb()
    use_broker(app, broker_url=broker, task_always_eager=False)
    base = int(os.environ.get("MAILSTACK_PORT_BASE", "20000")) + 20
    stack = MailStack(Path(settings.VAR_DIR) / "bench-mailstack", base)
    stack.stop()
    shutil.rmtree(stack.directory, ignore_errors=True)
    config_dir = stack.path("mailhost")
    stack.prepare(config_dir)
    bootstrap_maps(stack, config_dir)
    stack.start(config_dir)
    worker = CeleryWorker(
        queue=f"mailhost.bench-{base}",
        database_url=database_url_of(connection.settings_dict),
        broker_url=broker,
        log=stack.path("log", "celery-worker.log"),
    )
    try:
        worker.start()
        host = MailHost.objects.create(
            name="bench-live",
            hostname=stack.hostname,
            queue=worker.queue,
            config_dir=str(config_dir),
            **stack.host_settings(),
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
        mailbox, _ = create_mailbox(
            actor=Actor.system(),
            customer=customer,
            domain=domain,
            local_part="snel",
            quota_bytes=100 * 1024**2,
            password=PASSWORD,
        )
        mail = MailClient(stack)
        wait_live(mailbox)
        to_live, to_login, refused_logins = [], [], 0
        for number in range(changes):
            password = f"Wachtwoord-{number:03d}-Bench"
            started = time.perf_counter()
            set_mailbox_password(actor=Actor.system(), mailbox=mailbox, password=password)
            wait_live(mailbox)
            to_live.append(time.perf_counter() - started)
            source = f"127.0.1.{number % 250 + 1}"  # failed logins slow down their address only
            while not mail.imap_login_works(mailbox.address, password, source=source):
                refused_logins += 1
            to_login.append(time.perf_counter() - started)
        print(f"save -> live over {changes} password changes (real worker, real Dovecot):")
        for label, values in [("panel shows live", to_live), ("IMAP login works", to_login)]:
            p50 = statistics.median(values)
            p95 = statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)
            print(f"  {label:17} p50 {p50:5.2f} s   p95 {p95:5.2f} s   max {max(values):5.2f} s")
        print(
            f"  logins refused because the change was not live yet: {refused_logins}; target: p95 under 2 s"
        )
    finally:
        worker.stop()
        stack.stop()
        redis.Redis.from_url(broker).flushdb()


def wait_live(mailbox, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        mailbox.refresh_from_db(fields=["revision"])
        mailbox.domain.mailhost.refresh_from_db(fields=["applied_revision", "last_error"])
        if mailbox.live_state == "live":
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"{mailbox} did not become live within {timeout} s")
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--skip-live", action="store_true")
    options = parser.parse_args()
    old_name = connection.settings_dict["NAME"]
    create_database()
    try:
        bench_render_apply(options.mailboxes)
        if options.skip_live:
            return
        if connection.vendor != "postgresql":
            print("save -> live: skipped (needs PostgreSQL, so the worker process shares the database)")
            return
        bench_save_to_live(options.changes)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
