"""Benchmark: webmail's share of an apply, and the panel's side of "Open webmail".

1. Seeds a varied host (bench/hostdata.py, as bench_apply.py does), gives every domain a signature template and every
   tenth mailbox a signature of its own, then times `render_webmail(host)` (the settings, Dovecot's key for
   webmail sessions and the signatures, in files by domain), which every apply of the host runs.
2. Times creating a one-time sign-on token and redeeming it with the mailbox's credential (the mail host's
   call), as the button and the webmail plugin do, over 200 rounds.

    .venv/bin/python bench/bench_webmail.py --mailboxes 20000      # SQLite, var/bench_webmail.sqlite3

Prints p50/p95 in ms. No assertions: read the numbers.
"""

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_apply  # noqa: E402, F401 - sets up Django
import hostdata  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mailboxes", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    if connection.vendor == "sqlite":
        connection.settings_dict.setdefault("TEST", {})["NAME"] = str(
            settings.VAR_DIR / "bench_webmail.sqlite3"
        )
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        run(args)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(args) -> None:
    from mailaccounts.models import Domain, DomainSignatureTemplate, Mailbox, MailboxSignature
    from mailhosts.models import MailHost
    from tenants.audit import Actor
    from webmail import services
    from webmail.rendering import render_webmail

    host = MailHost.objects.default()
    hostdata.seed_host(host, args.mailboxes, random.Random(2026), prefix="webmail")
    DomainSignatureTemplate.objects.bulk_create(
        DomainSignatureTemplate(
            domain=domain, text="Groet,\n{name}\n{address} · {phone}", html="<p><b>{name}</b></p>"
        )
        for domain in Domain.objects.filter(signature_template__isnull=True)  # hostdata seeds some
    )
    MailboxSignature.objects.bulk_create(
        MailboxSignature(
            mailbox_id=pk, name="Eigen", text="Eigen handtekening\n{phone}", phone="020 123 4567"
        )
        for pk in Mailbox.objects.filter(signature__isnull=True).values_list("pk", flat=True)[::10]
    )
    times = []
    for _round in range(5):
        started = time.perf_counter()
        files = render_webmail(host).files
        times.append((time.perf_counter() - started) * 1000)
    print(
        f"render_webmail, {args.mailboxes} mailboxes ({len(files)} files): "
        f"p50 {statistics.median(times):.0f} ms, max {max(times):.0f} ms over 5 renders"
    )

    mailbox = Mailbox.objects.select_related("domain__mailhost", "customer").first()
    create, redeem = [], []
    for _round in range(args.rounds):
        started = time.perf_counter()
        token = services.create_sso_token(actor=Actor.system(), mailbox=mailbox)
        created = time.perf_counter()
        redeemed = services.redeem_sso_token(token)
        assert redeemed is not None and services.webmail_login(redeemed)["password"]
        create.append((created - started) * 1000)
        redeem.append((time.perf_counter() - created) * 1000)
    for name, values in [("create token (button)", create), ("redeem token (mail host)", redeem)]:
        print(
            f"{name}: p50 {statistics.median(values):.2f} ms, p95 {percentile(values, 0.95):.2f} ms "
            f"over {args.rounds}"
        )


if __name__ == "__main__":
    main()
