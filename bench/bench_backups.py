"""Benchmark: backups of one mail host with 1,000 mailboxes of 200 small messages each (200,000 files).

1. First backup: the catalogue scan of every mailbox's folders plus `restic backup` into a new repository.
2. Incremental backup after 1% of the mail changed (2,000 messages delivered across random mailboxes).
   Target: under 60 s.
3. Restoring one 1,000-message folder as the restore task does it: `restic restore` of the folder, its
   messages counted, then `doveadm import` in batches into `Restored <date>/Archief` of a real
   Dovecot (the local mail stack), and the count checked. Target: under 10 s.
Peak memory of the benchmark process and of restic is printed after each step (it should stay flat).

    .venv/bin/python bench/bench_backups.py                 # needs restic, and root for the mail stack
Options: --mailboxes N (default 1000), --messages N (default 200), --folder N (default 1000), --keep.
Works in var/bench-backups/; the stack uses ports MAILSTACK_PORT_BASE + 40 (default 20040).
"""

import argparse
import datetime
import os
import random
import resource
import shutil
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

from backups import maildir  # noqa: E402
from backups.doveadm import DoveadmCommand  # noqa: E402
from backups.jobs import IMPORT_BATCH, messages_in_copy, prepare_source, snapshot_paths  # noqa: E402
from backups.restic import Repository  # noqa: E402
from mailaccounts.passwords import hash_password  # noqa: E402
from mailhosts.stack import MailStack  # noqa: E402

BODY = ("Beste klant, hierbij de bevestiging van je bestelling. " * 6 + "\n") * 3


def peak_mb() -> str:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return f"peak RSS: benchmark {own:.0f} MB, restic/doveadm {children:.0f} MB"


def write_message(directory: Path, name: str, subject: str, to: str) -> None:
    data = f"From: shop@elders.example\nTo: {to}\nSubject: {subject}\nMessage-ID: <{name}@bench>\n\n{BODY}".encode()
    (directory / f"{name},S={len(data)},W={len(data) + BODY.count(chr(10)) + 5}:2,S").write_bytes(data)


def generate(mail_root: Path, mailboxes: int, messages: int, folder: int) -> None:
    for number in range(mailboxes):
        home = mail_root / "bench.example" / f"user{number}" / "Maildir"
        for sub in ["cur", "new", "tmp"]:
            (home / sub).mkdir(parents=True)
        for index in range(messages):
            write_message(
                home / "cur",
                f"17000{index:05d}.M{index}P{number}.bench",
                f"{number}-{index}",
                f"user{number}@bench.example",
            )
    archive = mail_root / "bench.example" / "user0" / "Maildir" / ".Archief"
    for sub in ["cur", "new", "tmp"]:
        (archive / sub).mkdir(parents=True)
    for index in range(folder):
        write_message(
            archive / "cur", f"16000{index:05d}.M{index}P0.archief", f"archief {index}", "user0@bench.example"
        )


def change_one_percent(mail_root: Path, mailboxes: int, count: int) -> None:
    for index in range(count):
        number = random.randrange(mailboxes)
        new = mail_root / "bench.example" / f"user{number}" / "Maildir" / "new"
        write_message(
            new, f"18000{index:05d}.M{index}P{number}.bench", f"nieuw {index}", f"user{number}@bench.example"
        )


def scan_all(mail_root: Path, mailboxes: int) -> int:
    return sum(
        sum(f["messages"] for f in maildir.scan_mailbox(mail_root / "bench.example" / f"user{n}" / "Maildir"))
        for n in range(mailboxes)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--folder", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="leave var/bench-backups/ behind")
    options = parser.parse_args()
    work = Path(settings.VAR_DIR) / "bench-backups"
    stack = MailStack(work / "stack", settings.MAILSTACK_PORT_BASE + 40)
    stack.stop()
    shutil.rmtree(work, ignore_errors=True)
    config_dir = stack.path("mailhost")
    stack.prepare(config_dir)
    mail_root = stack.mail_dir
    repository = Repository(str(work / "repo"), "bench-password", str(work / "cache"))

    started = time.monotonic()
    generate(mail_root, options.mailboxes, options.messages, options.folder)
    total = options.mailboxes * options.messages + options.folder
    print(f"generated {options.mailboxes} mailboxes, {total} messages in {time.monotonic() - started:.1f} s")
    if os.geteuid() == 0:
        os.system(f"chown -R {settings.MAIL_UID}:{settings.MAIL_GID} {mail_root}")  # noqa: S605
    repository.init()

    started = time.monotonic()
    scanned = scan_all(mail_root, options.mailboxes)
    scan_seconds = time.monotonic() - started
    summary, _warning = repository.backup([str(mail_root)], host="bench", tags=["postbode"])
    print(
        f"first backup: {time.monotonic() - started:.1f} s (catalogue scan {scan_seconds:.1f} s, {scanned} messages), "
        f"{summary['total_bytes_processed'] / 1e6:.0f} MB, {summary['data_added'] / 1e6:.0f} MB stored; {peak_mb()}"
    )

    change_one_percent(mail_root, options.mailboxes, total // 100)
    started = time.monotonic()
    scan_all(mail_root, options.mailboxes)
    summary, _warning = repository.backup([str(mail_root)], host="bench", tags=["postbode"])
    incremental = time.monotonic() - started
    print(
        f"incremental backup after 1% changed: {incremental:.1f} s (target < 60 s), "
        f"{summary['files_new']} new files, {summary['data_added'] / 1e6:.1f} MB stored; {peak_mb()}"
    )

    user = "herstel@bench.example"
    users = config_dir / "dovecot" / "users"
    users.write_text(
        f"{user}:{hash_password('bench-wachtwoord')}:{settings.MAIL_UID}:{settings.MAIL_GID}::"
        f"{mail_root}/bench.example/herstel::userdb_quota_rule=*:storage=1G\n"
    )
    for rel in [
        "postfix/virtual_mailbox_domains",
        "postfix/virtual_mailbox_maps",
        "postfix/virtual_alias_maps",
        "postfix/sender_login_maps",
        "postfix/recipient_access",
    ]:
        (config_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (config_dir / rel).touch()
        os.system(f"postmap -c {stack.postfix_etc} hash:{config_dir / rel}")  # noqa: S605
    stack.start(config_dir)
    try:
        snapshot = repository.snapshots(host="bench")[-1]["id"]
        doveadm = DoveadmCommand(["doveadm", "-c", str(stack.dovecot_conf)])
        scratch = work / "scratch"
        started = time.monotonic()
        source, includes = snapshot_paths(mail_root.resolve(), "bench.example/user0", "Archief")
        repository.restore(snapshot, target=scratch, includes=includes)
        found = messages_in_copy(scratch / source.lstrip("/"), "Archief")
        copy = prepare_source(scratch, source, ["Archief"])
        restored = time.monotonic() - started
        parent = f"Restored {datetime.date.today().isoformat()}"
        count = found["Archief"][0]
        for start in range(1, count + 1, IMPORT_BATCH):
            end = min(start + IMPORT_BATCH - 1, count)
            doveadm.import_messages(
                user, source=str(copy), parent=parent, folder="Archief", sequence=f"{start}:{end}"
            )
        arrived = doveadm.messages_in(user, f"{parent}/Archief")
        seconds = time.monotonic() - started
        assert arrived == count, (arrived, count)
        print(
            f"restore of one {count}-message folder: {seconds:.1f} s (target < 10 s): restic restore and count "
            f"{restored:.1f} s, doveadm import {seconds - restored:.1f} s; {peak_mb()}"
        )
    finally:
        stack.stop()
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
