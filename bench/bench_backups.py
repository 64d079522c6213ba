"""Benchmark: backups of one mail host with 1,000 mailboxes of 200 small messages each (200,000 files).

1. First backup: the catalogue scan of every mailbox's folders plus `restic backup` into a new repository.
2. Incremental backup after 1% of the mail changed (2,000 messages delivered across random mailboxes).
   Target: under 60 s.
3. Restoring one 1,000-message folder exactly as the restore task does it (`backups.jobs.restore_from_copy`
   after `fetch_copy`: `restic restore` of the folder, count, quota check, `doveadm import` into
   `Restored <date>/Archief` of a real Dovecot of the local mail stack, the count checked, the mail synced
   to disk). Target: under 10 s. The folder's messages are realistic: sizes log-normal (median 9 KB, a few
   attachments up to 3 MB), read and unread, flagged and answered ones, dates over two years; after the
   restore their flags, dates and Message-IDs are compared with the originals, and a second restore of the
   same folder must land in `Restored <date> (2)` with exactly the same messages (no duplicates).
Peak memory of the benchmark process and of its children is printed after each step (it should stay flat).

    .venv/bin/python bench/bench_backups.py                 # needs restic, and root for the mail stack
Options: --mailboxes N (default 1000), --messages N (default 200), --folder N (default 1000),
--restores N (default 3: the restore is timed that often, each into a folder of its own), --before (each
time also the restore as it was done before this change, in turn, with the ratio pair by pair), --keep.
Works in var/bench-backups/; the stack uses ports MAILSTACK_PORT_BASE + 900 (default 20900).
"""

import argparse
import datetime
import email
import os
import random
import resource
import shutil
import statistics
import sys
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postbode.settings")
os.environ.setdefault("DEBUG", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from backups import jobs, maildir  # noqa: E402
from backups.doveadm import DoveadmCommand  # noqa: E402
from backups.restic import Repository  # noqa: E402
from mailaccounts.passwords import hash_password  # noqa: E402
from mailhosts.files import sync_user_table  # noqa: E402
from mailhosts.rendering import RenderedFile  # noqa: E402
from mailhosts.stack import PORT_SPACING, MailStack  # noqa: E402

WORDS = (
    "bestelling brood taart levering factuur morgen vandaag graag bedankt groet klant bakkerij "
    "afspraak prijs korting week maand adres bevestiging vraag antwoord volgende"
).split()
FLAG_CHOICES = ["S", "S", "S", "RS", "FS", "", "FRS", "S", "S", "DS"]  # Maildir flags (sorted)


def peak_mb() -> str:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return f"peak RSS: benchmark {own:.0f} MB, restic/doveadm {children:.0f} MB"


def realistic_message(number: int, size: int, rng: random.Random, to: str, prefix: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Klant {number} <klant{number % 97}@elders.example>"
    message["To"] = to
    message["Subject"] = f"{prefix} {number}: {' '.join(rng.choice(WORDS) for _ in range(4))}"
    message["Message-ID"] = f"<{prefix}-{number}-{rng.getrandbits(48):x}@elders.example>"
    message["Date"] = email.utils.format_datetime(datetime.datetime.now(datetime.UTC))
    text_size = max(80, min(size, 20_000))
    message.set_content(" ".join(rng.choice(WORDS) for _ in range(text_size // 8)))
    if size > 20_000:
        message.add_attachment(
            rng.randbytes(int((size - 20_000) * 0.74)),
            maintype="application",
            subtype="pdf",
            filename="f.pdf",
        )
    return message.as_bytes().replace(b"\r\n", b"\n")


def write_maildir_message(folder: Path, name: str, data: bytes, flags: str, mtime: float) -> None:
    """A message as Dovecot leaves it: cur/ with its sizes and flags in the name (new/ when unseen)."""
    vsize = len(data) + data.count(b"\n")
    if flags:
        path = folder / "cur" / f"{name},S={len(data)},W={vsize}:2,{flags}"
    else:
        path = folder / "new" / f"{name},S={len(data)},W={vsize}"
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


def make_folder(path: Path) -> None:
    for sub in ["cur", "new", "tmp"]:
        (path / sub).mkdir(parents=True, exist_ok=True)


def generate(mail_root: Path, mailboxes: int, messages: int, folder: int) -> None:
    rng = random.Random(18)
    now = time.time()
    # the bulk: small messages of varied sizes (a pool of bodies, so generating 200,000 stays quick)
    pool = [
        realistic_message(n, min(int(rng.lognormvariate(8.0, 0.7)), 60_000), rng, "x", "Post")
        for n in range(64)
    ]
    for number in range(mailboxes):
        home = mail_root / "bench.example" / f"user{number}" / "Maildir"
        make_folder(home)
        for index in range(messages):
            data = pool[(number + index) % len(pool)].replace(
                b"Message-ID: <", f"Message-ID: <{number}.{index}.".encode(), 1
            )
            write_maildir_message(
                home, f"17000{index:05d}.M{index}P{number}.bench", data, rng.choice(FLAG_CHOICES), now
            )
    archive = mail_root / "bench.example" / "user0" / "Maildir" / ".Archief"
    make_folder(archive)
    for index in range(folder):
        size = min(int(rng.lognormvariate(9.1, 1.2)), 3_000_000)
        if index % 100 == 50:  # a few invoices and photos as attachments
            size = rng.randrange(500_000, 3_000_000)
        data = realistic_message(index, size, rng, "user0@bench.example", "Archief")
        mtime = now - rng.uniform(0, 730 * 86400)
        write_maildir_message(
            archive, f"{int(mtime)}.M{index}P0.archief", data, rng.choice(FLAG_CHOICES), mtime
        )


def change_one_percent(mail_root: Path, mailboxes: int, count: int) -> None:
    rng = random.Random(19)
    for index in range(count):
        number = rng.randrange(mailboxes)
        home = mail_root / "bench.example" / f"user{number}" / "Maildir"
        data = realistic_message(index, int(rng.lognormvariate(8.0, 0.7)), rng, "x", "Nieuw")
        write_maildir_message(home, f"18000{index:05d}.M{index}P{number}.bench", data, "", time.time())


def scan_all(mail_root: Path, mailboxes: int) -> int:
    return sum(
        sum(f["messages"] for f in maildir.scan_mailbox(mail_root / "bench.example" / f"user{n}" / "Maildir"))
        for n in range(mailboxes)
    )


def originals(folder: Path) -> dict[str, tuple[str, int]]:
    """Message-ID -> (flags, received date) of the messages in a Maildir folder."""
    found = {}
    for sub in maildir.MESSAGE_DIRS:
        for path in (folder / sub).iterdir():
            with open(path, "rb") as handle:
                headers = email.message_from_binary_file(handle, _class=email.message.Message)
            flags = path.name.partition(":2,")[2] if sub == "cur" else ""
            found[headers["Message-ID"]] = (flags, int(path.stat().st_mtime))
    return found


def restored(doveadm: DoveadmCommand, user: str, folder: str) -> dict[str, tuple[str, int]]:
    """The same, as Dovecot reports them for a folder of the restore."""
    names = {"\\Seen": "S", "\\Answered": "R", "\\Flagged": "F", "\\Deleted": "T", "\\Draft": "D"}
    output = doveadm.run(
        "-f", "tab", "fetch", "-u", user, "hdr.message-id flags date.received", "mailbox", folder, "ALL"
    )
    found = {}
    rows = output.splitlines()[1:]
    for line in rows:
        message_id, flags, received = line.split("\t")
        letters = "".join(sorted(names[f] for f in flags.split() if f in names))
        when = datetime.datetime.strptime(received, "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.UTC)
        found[message_id.strip()] = (letters, int(when.timestamp()))
    assert len(found) == len(rows), f"{len(rows) - len(found)} messages twice in {folder}"
    return found


def restore_now(repository, snapshot, mail_root, doveadm, user, scratch, base, timings):
    """The restore task's own steps (backups.jobs)."""
    with jobs.stopwatch(timings, "restic restore and count"):
        copy, found = jobs.fetch_copy(
            repository, snapshot, root=mail_root.resolve(), home="bench.example/user0", folder="Archief",
            scratch=scratch,
        )  # fmt: skip
    parent = jobs.restore_from_copy(
        doveadm, user, copy=copy, found=found, quota_bytes=10 * 10**9, parent_name=base, timings=timings
    )
    return parent, found


def restore_as_before(repository, snapshot, mail_root, doveadm, user, scratch, base, timings):
    """The restore as the task did it until December 2026: restic with its lock, `doveadm import` in batches
    of 250 with Dovecot's fsync after every message, a count per folder."""
    source, includes = jobs.snapshot_paths(mail_root.resolve(), "bench.example/user0", "Archief")
    with jobs.stopwatch(timings, "restic restore and count"):
        scratch.mkdir(parents=True)
        repository.restore(snapshot, target=scratch, includes=includes)
        jobs.give_to_mail_user(scratch)
        copy = scratch / source.lstrip("/")
        found = jobs.messages_in_copy(copy, "Archief")
    with jobs.stopwatch(timings, "quota check"):
        doveadm.quota_used_bytes(user)
    jobs.prepare_source(copy, ["Archief"])
    with jobs.stopwatch(timings, "folder list"):
        parent = jobs.unique_folder(base, doveadm.mailboxes(user))
    count = found["Archief"][0]
    for start in range(1, count + 1, 250):
        with jobs.stopwatch(timings, "doveadm import"):
            doveadm.run(
                "import", "-s", "-u", user, f"maildir:{copy}", parent, "mailbox", "Archief",
                f"{start}:{min(start + 249, count)}",
            )  # fmt: skip
    with jobs.stopwatch(timings, "count check"):
        assert doveadm.messages_in(user, f"{parent}/Archief") == count
    return parent, found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--folder", type=int, default=1000)
    parser.add_argument("--restores", type=int, default=3)
    parser.add_argument(
        "--before", action="store_true", help="also time the restore as it was done before, in turn with now"
    )
    parser.add_argument("--keep", action="store_true", help="leave var/bench-backups/ behind")
    options = parser.parse_args()
    os.environ["TZ"] = "UTC"  # doveadm prints dates in its local time zone
    time.tzset()
    work = Path(settings.VAR_DIR) / "bench-backups"
    stack = MailStack(work / "stack", settings.MAILSTACK_PORT_BASE + 9 * PORT_SPACING)
    stack.stop()
    shutil.rmtree(work, ignore_errors=True)
    config_dir = stack.path("mailhost")
    stack.prepare(config_dir)
    mail_root = stack.mail_dir
    repository = Repository(str(work / "repo"), "bench-password", str(work / "cache"))

    started = time.monotonic()
    generate(mail_root, options.mailboxes, options.messages, options.folder)
    total = options.mailboxes * options.messages + options.folder
    size = sum(
        os.stat(os.path.join(directory, name)).st_size
        for directory, _d, names in os.walk(mail_root)
        for name in names
    )
    archive = mail_root / "bench.example" / "user0" / "Maildir" / ".Archief"
    folder_sizes = [p.stat().st_size for sub in ("cur", "new") for p in (archive / sub).iterdir()]
    print(
        f"generated {options.mailboxes} mailboxes, {total} messages, {size / 1e6:.0f} MB in "
        f"{time.monotonic() - started:.1f} s; the folder to restore: {len(folder_sizes)} messages, "
        f"{sum(folder_sizes) / 1e6:.1f} MB (median {statistics.median(folder_sizes) / 1e3:.1f} KB, "
        f"largest {max(folder_sizes) / 1e6:.1f} MB)"
    )
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
    if os.geteuid() == 0:
        os.system(f"chown -R {settings.MAIL_UID}:{settings.MAIL_GID} {mail_root}")  # noqa: S605
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
    line = (
        f"{user}:{hash_password('bench-wachtwoord')}:{settings.MAIL_UID}:{settings.MAIL_GID}::"
        f"{mail_root}/bench.example/herstel::userdb_quota_rule=*:storage=10G\n"
    )
    sync_user_table(users, RenderedFile(line.encode(), 0o644))
    users.write_text(line)
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
        want = originals(archive)
        figures: dict[str, list[float]] = {"now": [], "before": []}
        base = f"Restored {datetime.date.today().isoformat()}"
        for attempt in range(options.restores):
            # in turn, the restore as it is now and as it was before (an fsync per message, batches of 250,
            # restic's lock), so the machine's load drifting during the run hits both alike
            for way in ["now", "before"] if options.before else ["now"]:
                scratch = work / f"scratch-{way}-{attempt}"
                timings: dict[str, float] = {}
                started = time.monotonic()
                restore = restore_now if way == "now" else restore_as_before
                parent, found = restore(
                    repository, snapshot, mail_root, doveadm, user, scratch, base, timings
                )
                seconds = time.monotonic() - started
                shutil.rmtree(scratch, ignore_errors=True)
                figures[way].append(seconds)
                got = restored(doveadm, user, f"{parent}/Archief")
                assert len(got) == len(want) == sum(c for c, _b in found.values()), (len(got), len(want))
                differ = [m for m in want if got.get(m) != want[m]]
                assert not differ, [(m, want[m], got.get(m)) for m in differ[:3]]
                steps = ", ".join(f"{name} {value:.2f} s" for name, value in timings.items())
                print(
                    f"restore {attempt + 1} ({way}) of the {len(want)}-message folder into {parent!r}: "
                    f"{seconds:.2f} s: {steps}; flags, dates and Message-IDs as the originals, each once; "
                    f"{peak_mb()}"
                )
        now = figures["now"]
        print(
            f"restore of one {len(want)}-message folder: median {statistics.median(now):.2f} s over {len(now)} "
            f"restores (target < 10 s; min {min(now):.2f} s, max {max(now):.2f} s)"
        )
        if options.before:
            before = figures["before"]
            ratios = [a / b for a, b in zip(now, before, strict=True)]
            print(
                f"the same restore as before: median {statistics.median(before):.2f} s (min {min(before):.2f} s, "
                f"max {max(before):.2f} s); now / before, pair by pair: median {statistics.median(ratios):.2f} "
                f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
            )
    finally:
        stack.stop()
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
