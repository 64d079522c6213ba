"""The relay's part of the local mail stack: its sending-limit policy service and its log source.

`manage.py relaypolicy` answers the submission ports' `check_policy_service` (deploy/postfix/master.cf); it
reads the panel's database (limits) and Redis (counters). After the stack starts, the host's Postfix log
becomes a relay log source, so the ingest task reads it.
"""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from mailhosts.models import MailHost
from mailhosts.stack import MailStack, StackService, signal_pidfile, wait_for_exit

from .models import RelayLogSource

POLICY_OFFSET = 12


def start_policy(
    stack: MailStack,
    config_dir: Path | None = None,
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
) -> None:
    """Start the policy service on the stack's `policy` port: the current environment's database and Redis,
    unless given (the integration tests point it at the test database)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if database_url:
        env["DATABASE_URL"] = database_url
    if redis_url:
        env["RELAY_POLICY_REDIS_URL"] = redis_url
    log = open(stack.path("log", "relaypolicy.log"), "ab")  # noqa: SIM115 - handed to the child process
    process = subprocess.Popen(
        [sys.executable, "manage.py", "relaypolicy", "--listen", f"127.0.0.1:{stack.ports['policy']}"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    stack.path("relaypolicy.pid").write_text(str(process.pid))


def stop_policy(stack: MailStack) -> list[int | None]:
    return [signal_pidfile(stack.path("relaypolicy.pid"))]


def restart_policy(
    stack: MailStack, *, database_url: str | None = None, redis_url: str | None = None
) -> None:
    for pid in stop_policy(stack):
        wait_for_exit(pid)
    start_policy(stack, database_url=database_url, redis_url=redis_url)


def attach_log_source(stack: MailStack, host: MailHost) -> None:
    """The relay log ingest task reads this host's Postfix log from the stack."""
    RelayLogSource.objects.get_or_create(mailhost=host, path=str(stack.path("log", "postfix.log")))


POLICY_SERVICE = StackService(
    name="relay-policy",
    ports={"policy": POLICY_OFFSET},
    values=lambda stack, config_dir: {"POLICY_PORT": str(stack.ports["policy"])},
    start=start_policy,
    stop=stop_policy,
    attach=attach_log_source,
    describe=lambda stack: [f"  Relay policy (send limits)  127.0.0.1:{stack.ports['policy']}"],
)
