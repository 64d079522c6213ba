"""Benchmark: a mail host's first apply, run again and again on the same seeded host, each in a fresh process.

`bench_apply.py` seeds a host per run (20 s and more at 100,000 mailboxes) and then times one first apply, so
two pieces of code are compared over minutes, and the machine's swing (a loaded 2-core machine moves one
apply by a second) hides a change of a few tenths. This script seeds the host once into a database of its
own (kept between invocations) and then applies the whole host into a new folder for each run, each in a
fresh Python process as a Celery worker is, printing for each run:

- wall-clock seconds, the process's CPU seconds (with the kernel's part: file creation on this machine's
  journal-less ext4 swings by a second, see bench/README.md) and its child processes' CPU seconds
  (`postmap`'s, and on a large host those of the child that renders the Postfix maps beside the rest:
  `mailhosts/forking.py`);
- the stages of the apply: rendering, the files, Dovecot's table, the part store, the assembly indexes, the
  mail-folder lists, and the time spent waiting for Dovecot's once-a-second check at the end.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postbode .venv/bin/python bench/bench_first_apply.py
    ... bench_first_apply.py --mailboxes 10000 --runs 3
    ... bench_first_apply.py --reseed                # seed again (after a change to the seeded data)

The host is seeded (`bench/hostdata.py`, the same data as `bench_apply.py` for the same size and seed) into
`<database>_first_apply_<mailboxes>`, kept for the next invocation; the runs' folders go to
`var/bench-first-apply/` and are removed only by `--clean`, never just before a run: creating files right
after thousands were deleted costs this machine's kernel seconds (bench/README.md, the apply's fourth step).
To compare two checkouts, run the script of each in turn against the same database (`--database NAME`).
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postbode.settings")
os.environ.setdefault("DEBUG", "false")

WORK = ROOT / "var" / "bench-first-apply"
STAGES = (  # functions of mailhosts.apply timed in each run, in the order an apply calls them
    "render_host",
    "sync_files_then_postmap",
    "sync_stored_user_tables",
    "write_assembly_indexes",
    "sync_mail_folders",
    "wait_for_dovecot_resync",
)


def database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        raise SystemExit(
            "DATABASE_URL must name a PostgreSQL server (the host is seeded into its own database)"
        )
    return base.rsplit("/", 1)[0] + "/" + name


def seed(total: int, seed_number: int) -> None:
    """In this process: create the database's tables and seed one host (`bench<total>`)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from hostdata import bench_host, seed_host

    from mailhosts.models import MailHost

    call_command("migrate", verbosity=0)
    name = f"bench{total}"
    host = bench_host(name, WORK / "postfix-etc", WORK / "unused")  # each run sets its own folder
    started = time.perf_counter()
    seeded = seed_host(host, total, random.Random(seed_number + total), name)
    MailHost.objects.filter(pk=host.pk).update(desired_revision=1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have done on a host that grew to this size
    print(
        f"seeded {seeded.mailboxes:,} mailboxes in {seeded.domains:,} domains (largest {seeded.largest_size:,})"
        f" in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def one_run(total: int, folder: Path) -> None:
    """In a fresh process: apply the whole host into `folder` and print one line of figures."""
    import django

    django.setup()
    import mailhosts.apply as apply
    from mailhosts.models import MailHost

    stages: dict[str, float] = dict.fromkeys(STAGES, 0.0)

    def timed(name, function):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                stages[name] += time.perf_counter() - started

        return run

    for name in STAGES:
        setattr(apply, name, timed(name, getattr(apply, name)))
    store_write = apply.PartStore.write
    stages["part store"] = 0.0  # every write of it: the folder lists of sync_mail_folders too

    def write(self, changes, **options):
        started = time.perf_counter()
        try:
            return store_write(self, changes, **options)
        finally:
            stages["part store"] += time.perf_counter() - started

    apply.PartStore.write = write
    host = MailHost.objects.get(name=f"bench{total}")
    MailHost.objects.filter(pk=host.pk).update(config_dir=str(folder), applied_revision=0, last_error="")
    load = os.getloadavg()[0]
    before, started = os.times(), time.perf_counter()
    result = apply.apply_host(host.pk)
    wall, after = time.perf_counter() - started, os.times()
    cpu = after.user + after.system - before.user - before.system
    children = after.children_user + after.children_system - before.children_user - before.children_system
    print(
        f"{wall:.3f} {cpu:.3f} {after.system - before.system:.3f} {children:.3f} {load:.2f} "
        f"{len(result.changed_files)} " + " ".join(f"{stages[name]:.3f}" for name in [*STAGES, "part store"]),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--database", help="the seeded host's database (default: <DATABASE_URL's>_first_apply_<N>)"
    )
    parser.add_argument("--reseed", action="store_true", help="drop the seeded database and seed again")
    parser.add_argument("--clean", action="store_true", help="remove the earlier runs' folders first")
    parser.add_argument("--one-run", metavar="FOLDER", help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)  # the child process
    options = parser.parse_args()
    name = options.database or (
        os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1] + f"_first_apply_{options.mailboxes}"
    )
    if options.one_run or options.seed_only:
        os.environ["DATABASE_URL"] = database_url(name)
        if options.seed_only:
            seed(options.mailboxes, options.seed)
        else:
            one_run(options.mailboxes, Path(options.one_run))
        return

    import psycopg

    admin = psycopg.connect(database_url("postgres"), autocommit=True)
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if exists and options.reseed:
        admin.execute(f'DROP DATABASE "{name}"')
        exists = None
    if not exists:
        admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    me = [sys.executable, __file__, "--mailboxes", str(options.mailboxes), "--database", name]
    if not exists:
        subprocess.run([*me, "--seed", str(options.seed), "--seed-only"], check=True)
    if options.clean:
        shutil.rmtree(WORK / "runs", ignore_errors=True)
    (WORK / "runs").mkdir(parents=True, exist_ok=True)
    print(f"first apply of bench{options.mailboxes} ({name}), {options.runs} runs, each in a fresh process")
    columns = ["wall", "CPU", "kernel", "children", "load", "files", *STAGES, "part store"]
    rows = []
    for _ in range(options.runs):
        folder = WORK / "runs" / uuid.uuid4().hex[:12]
        out = subprocess.run([*me, "--one-run", str(folder)], check=True, capture_output=True, text=True)
        values = out.stdout.strip().splitlines()[-1].split()
        rows.append([float(value) for value in values])
        print("  " + ", ".join(f"{column} {value}" for column, value in zip(columns, values, strict=True)))
    if rows:  # `--runs 0` only seeds
        print(
            "median: "
            + ", ".join(
                f"{column} {statistics.median(r[i] for r in rows):.3f}" for i, column in enumerate(columns)
            )
        )


if __name__ == "__main__":
    main()
