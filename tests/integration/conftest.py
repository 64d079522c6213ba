"""Real services for the integration tests: PostgreSQL, a Celery worker on Redis, and the mail stack.

Shared fixtures (for every engineer's integration tests):

- `mailstack` (session): Postfix, Dovecot, OpenDKIM and the SMTP sink from `mailhosts.stack`, i.e.
  deploy/'s templates on loopback ports from `MAILSTACK_PORT_BASE` (default 20000), in
  `var/test-mailstack-<base>/` (wiped at the start; `/var/tmp/postbode-test-mailstack-<base>/` when the
  checkout is in a directory the daemons cannot enter). `mailstack.ports["imaps"]`, `.sink_messages()`,
  `.ca_file`, logs at `mailstack.path("log", "postfix.log")` (Postfix's `maillog_file`), `"dovecot.log"`.
  Its rspamd checks SPF, DKIM and DMARC against the local DNS server of `dns_server` (tests/conftest.py).
- `celery_worker` (session): a real `celery -A postbode worker` subprocess consuming the stack host's queue, on
  the Redis database named by `POSTBODE_TEST_REDIS_URL` (default redis://127.0.0.1:6379/15) and the very
  test database pytest-django created. `.kill()` and `.start()` for crash tests. While it runs, this
  process sends tasks to Redis too (Celery is not eager).
- `stack_host` (function): the MailHost the stack serves, configured with the stack's postmap, reload and
  doveadm commands. Use it with `@pytest.mark.django_db(transaction=True, serialized_rollback=True)`
  (`pytestmark` below), so the worker process sees the committed rows.
- `stack_domain`: a verified domain of the cast's `customer` on that host.
- `mail`: a `MailClient` for SMTP (25, 587, 465), IMAPS/IMAP and POP3S with the stack's test CA, plus
  `wait_live(obj)` and waiting for the sink.
- `fresh(prefix)`: a local part no other test used, so mail folders of earlier tests never interfere.
- `postgres`: for a test of what only PostgreSQL has (partitions, planner statistics, a second session).

Under CI=true a missing service fails the test (`require_service`); elsewhere it skips.
"""

import email
import imaplib
import os
import poplib
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import uuid
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import XDIST_WORKER, require_service, test_redis_url, test_rspamd_redis_url

STACK_HOST_NAME = "stack"
DEFAULT_TIMEOUT = 15.0


def redis_url() -> str:
    return test_redis_url()


def redis_available(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def wait_until(
    predicate, *, timeout: float = DEFAULT_TIMEOUT, interval: float = 0.05, what: str = "condition"
):
    """Poll `predicate` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# --- the mail stack ---------------------------------------------------------------------------------------


@pytest.fixture
def postgres():
    """For a test of what only PostgreSQL has: under CI=true it fails without it, elsewhere it skips."""
    require_service(
        connection.vendor == "postgresql",
        "PostgreSQL (run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db>)",
    )


@pytest.fixture(scope="session")
def mailstack(_dns_server_process):
    from django.test import override_settings

    from mailhosts.stack import PORT_SPACING, MailStack, is_traversable_by_all

    for program in [
        "postfix",
        "postmap",
        "dovecot",
        "doveadm",
        "opendkim",
        "rspamd",
        "rspamc",
        "sievec",
        "php",
    ]:
        require_service(shutil.which(program) is not None, f"{program} (mail stack)")
    require_service(Path("/usr/share/roundcube/index.php").exists(), "Roundcube (roundcube-core, mail stack)")
    # one stack per pytest-xdist worker: its own ports, directory, Celery queue and Redis database
    base = int(os.environ.get("MAILSTACK_PORT_BASE", "20000")) + XDIST_WORKER * PORT_SPACING
    directory = Path(settings.VAR_DIR) / f"test-mailstack-{base}"
    if not is_traversable_by_all(directory.parent):  # e.g. a checkout inside a private temporary directory
        directory = Path("/var/tmp") / f"postbode-test-mailstack-{base}"
    # and its own rspamd statistics (the Celery worker, which renders the stack's files too, inherits it)
    os.environ["MAILSTACK_RSPAMD_REDIS_URL"] = settings.MAILSTACK_RSPAMD_REDIS_URL = test_rspamd_redis_url()
    stack = MailStack(directory, base)
    stack.stop()  # a stack left over from an interrupted run
    shutil.rmtree(directory, ignore_errors=True)
    # and its own restic repositories: two workers' hosts share a name, and restic locks a repository
    os.environ["BACKUP_REPOSITORY"] = settings.BACKUP_REPOSITORY = str(directory / "restic" / "{host}")
    config_dir = stack.path("mailhost")
    # webmail's credentials are good from these loopback addresses only (the Celery worker renders them): tests
    # try wrong ones from other addresses (Dovecot slows down each address that failed) and one from outside
    os.environ["WEBMAIL_ALLOW_NETS"] = "127.0.0.0/28"
    settings.WEBMAIL_ALLOW_NETS = ["127.0.0.0/28"]
    # rspamd checks SPF, DKIM and DMARC against the tests' own DNS server (tests use `dns_server` to publish)
    with override_settings(MAILSTACK_RSPAMD_NAMESERVER=f"127.0.0.1:{_dns_server_process.port}"):
        stack.prepare(config_dir)
        bootstrap_maps(stack, config_dir)
        stack.start(config_dir)
    stack.config_dir = config_dir
    yield stack
    stack.stop()


def bootstrap_maps(stack, config_dir: Path) -> None:
    """Empty maps, so Postfix starts before the first apply of a test writes real ones."""
    from mailhosts.rendering import hash_maps

    for rel in hash_maps():
        path = config_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        subprocess.run([*stack.host_settings()["postmap_command"], f"hash:{path}"], check=True)


# --- the Celery worker ------------------------------------------------------------------------------------


class CeleryWorker:
    """`celery -A postbode worker` as a subprocess in its own process group, on the test database."""

    def __init__(self, *, queue: str, database_url: str, broker_url: str, log: Path):
        self.queue, self.database_url, self.broker_url, self.log = queue, database_url, broker_url, log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": self.broker_url,
            "PYTHONUNBUFFERED": "1",
            # restores are unpacked where the mail user can reach them: beside the stack's mail, not below a
            # checkout that may sit in a private (0700) directory
            "BACKUP_SCRATCH_DIR": str(self.log.parent.parent / "backup-scratch"),
        }
        offset = self.log.stat().st_size if self.log.exists() else 0
        output = open(self.log, "ab")  # noqa: SIM115 - owned by the child process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "postbode",
                "worker",
                "-Q",
                self.queue,
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "INFO",
                "-n",
                f"{self.queue}@%h",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
        output.close()

        def ready():
            if self.process.poll() is not None:
                pytest.fail(f"the Celery worker exited: {self.log.read_text()[-3000:]}")
            with open(self.log, "rb") as log:
                log.seek(offset)
                return b" ready." in log.read()

        wait_until(ready, timeout=60, what="the Celery worker to be ready")

    def kill(self) -> None:
        """SIGKILL the worker and everything it started (a reload step it was running, too)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def use_broker(app, **conf) -> None:
    """Point this process's Celery app at another broker (or back to eager mode).

    Celery caches its connection pools, and an eager `delay()` earlier in the session (another test) has
    already built them for the default broker URL: drop them so the new URL is used.
    """
    app.conf.update(**conf)
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


def database_url_of(settings_dict: dict) -> str:
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, mailstack):
    import redis

    from postbode.celery import app

    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    url = redis_url()
    require_service(redis_available(url), f"Redis at {url} (POSTBODE_TEST_REDIS_URL)")
    redis.Redis.from_url(url).flushdb()
    previous = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
    use_broker(app, broker_url=url, task_always_eager=False)
    with django_db_blocker.unblock():
        database_url = database_url_of(connection.settings_dict)
    worker = CeleryWorker(
        queue=f"mailhost.{STACK_HOST_NAME}-{mailstack.port_base}",
        database_url=database_url,
        broker_url=url,
        log=mailstack.path("log", "celery-worker.log"),
    )
    worker.start()
    yield worker
    worker.stop()
    use_broker(app, **previous)
    redis.Redis.from_url(url).flushdb()


# --- the host, its domain and mailboxes -----------------------------------------------------------------------


@pytest.fixture
def stack_host(transactional_db, mailstack, celery_worker):
    from mailhosts.models import MailHost

    return MailHost.objects.create(
        name=STACK_HOST_NAME,
        hostname=mailstack.hostname,
        queue=celery_worker.queue,
        config_dir=str(mailstack.config_dir),
        **mailstack.host_settings(),
    )


@pytest.fixture
def stack_domain(customer, stack_host):
    from django.utils import timezone

    from mailaccounts.models import Domain

    return Domain.objects.create(
        customer=customer,
        name="bakkerij.example",
        mailhost=stack_host,
        verification_token="token-bakkerij",
        verified_at=timezone.now(),
    )


# Characters no test password contains: the suffix adds nothing Django's similarity check (which compares
# character counts of the password and of the address, whole and in parts) could match.
_SUFFIX_ALPHABET = "qx35"


@pytest.fixture
def fresh():
    """fresh("jan") -> "jan-q3x5…" (16 characters): a local part no earlier test used.

    The suffix is long and made of characters that no test password holds, so it only lowers the similarity
    Django's password validation measures between a test's password and its mailbox's address."""

    def local_part(prefix: str) -> str:
        number = uuid.uuid4().int
        return f"{prefix}-" + "".join(_SUFFIX_ALPHABET[(number >> (2 * i)) & 3] for i in range(16))

    return local_part


def dovecot_hash(password: str) -> str:
    from mailaccounts.passwords import hash_password

    return hash_password(password)


def create_mailbox(domain, local_part: str, password: str, *, quota_bytes: int = 100 * 1024**2):
    """A mailbox made through the panel's service, as the "new mailbox" form does."""
    from mailaccounts.services.mailboxes import create_mailbox as create
    from tenants.audit import Actor

    mailbox, _generated = create(
        actor=Actor.system(),
        customer=domain.customer,
        domain=domain,
        local_part=local_part,
        quota_bytes=quota_bytes,
        password=password,
    )
    return mailbox


def mailhost_of(obj):
    """The mail host an object's changes go to (a relay credential: the host of its first domain)."""
    if hasattr(obj, "domains"):
        return obj.domains.select_related("mailhost").first().mailhost
    for path in ["mailhost", "domain.mailhost", "mailbox.domain.mailhost"]:
        target = obj
        try:
            for attribute in path.split("."):
                target = getattr(target, attribute)
            return target
        except AttributeError:
            continue
    raise TypeError(f"{obj!r} has no mail host")


# --- talking to the stack ---------------------------------------------------------------------------------


class SourcedIMAP4_SSL(imaplib.IMAP4_SSL):
    """IMAPS from a chosen loopback address (Dovecot slows down every login from an address that failed)."""

    def __init__(self, host, port, *, ssl_context, source_address, timeout):
        self.source_address = source_address
        super().__init__(host, port, ssl_context=ssl_context, timeout=timeout)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=self.source_address)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class MailClient:
    def __init__(self, stack):
        self.stack = stack
        self.ports = stack.ports
        self.tls = ssl.create_default_context(cafile=str(stack.ca_file))

    # sending
    def message(self, *, sender: str, to: str, subject: str, body: str = "Hallo!", **headers) -> EmailMessage:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender, to, subject
        message["Message-ID"] = f"<{uuid.uuid4().hex}@test.postbode>"
        for name, value in headers.items():
            message[name.replace("_", "-")] = value
        message.set_content(body)
        return message

    def deliver(self, message: EmailMessage, *, recipients: list[str] | None = None) -> None:
        """Incoming mail: port 25 without authentication, as another mail server would send it."""
        with smtplib.SMTP("127.0.0.1", self.ports["smtp"], timeout=DEFAULT_TIMEOUT) as smtp:
            smtp.ehlo("mx.elders.example")
            smtp.send_message(message, to_addrs=recipients)

    def submit(
        self, message: EmailMessage, *, user: str, password: str, implicit_tls: bool = False, **kw
    ) -> None:
        """Outgoing mail: submission with STARTTLS (587) or implicit TLS (465), authenticated."""
        if implicit_tls:
            smtp = smtplib.SMTP_SSL(
                "127.0.0.1", self.ports["submissions"], context=self.tls, timeout=DEFAULT_TIMEOUT
            )
        else:
            smtp = smtplib.SMTP("127.0.0.1", self.ports["submission"], timeout=DEFAULT_TIMEOUT, **kw)
            smtp.starttls(context=self.tls)
        with smtp:
            smtp.login(user, password)
            smtp.send_message(message)

    # reading
    def imap(self, user: str, password: str, *, source: str = "127.0.0.1") -> SourcedIMAP4_SSL:
        client = SourcedIMAP4_SSL(
            "127.0.0.1",
            self.ports["imaps"],
            ssl_context=self.tls,
            source_address=(source, 0),
            timeout=DEFAULT_TIMEOUT,
        )
        client.login(user, password)
        return client

    def imap_login_works(self, user: str, password: str, *, source: str = "127.0.0.1") -> bool:
        try:
            self.imap(user, password, source=source).logout()
        except imaplib.IMAP4.error:
            return False
        return True

    def imap_messages(self, user: str, password: str) -> list[email.message.EmailMessage]:
        client = self.imap(user, password)
        try:
            client.select("INBOX", readonly=True)
            _status, data = client.search(None, "ALL")
            messages = []
            for number in data[0].split():
                _status, parts = client.fetch(number, "(RFC822)")
                messages.append(email.message_from_bytes(parts[0][1], policy=default_policy))
            return messages
        finally:
            client.logout()

    def pop3_messages(self, user: str, password: str) -> list[email.message.EmailMessage]:
        client = poplib.POP3_SSL("127.0.0.1", self.ports["pop3s"], context=self.tls, timeout=DEFAULT_TIMEOUT)
        try:
            client.user(user)
            client.pass_(password)
            count, _size = client.stat()
            return [
                email.message_from_bytes(b"\r\n".join(client.retr(n)[1]), policy=default_policy)
                for n in range(1, count + 1)
            ]
        finally:
            client.quit()

    def wait_for_inbox(self, user: str, password: str, *, subject: str, timeout: float = DEFAULT_TIMEOUT):
        def arrived():
            # a subject longer than a line is folded before its first word and parses back with a leading space
            return [m for m in self.imap_messages(user, password) if (m["Subject"] or "").strip() == subject]

        return wait_until(arrived, timeout=timeout, interval=0.1, what=f"{subject!r} in {user}")[0]

    # the outside world
    def sink_messages(self, *, to: str | None = None) -> list[email.message.EmailMessage]:
        found = []
        for path in self.stack.sink_messages():
            message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
            if to is None or f"<{to}>" in (message.get_all("X-Sink-Rcpt-To") or []):
                found.append(message)
        return found

    def wait_for_sink(self, *, to: str, subject: str | None = None, timeout: float = DEFAULT_TIMEOUT):
        def arrived():
            return [
                m for m in self.sink_messages(to=to) if subject is None or subject in (m["Subject"] or "")
            ]

        return wait_until(arrived, timeout=timeout, interval=0.1, what=f"mail to {to} in the sink")[0]

    # the panel's side
    def wait_live(self, obj, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the worker applied `obj`'s change (its live state, as the panel shows it, is live)."""
        type(obj).objects.filter(pk=obj.pk)  # obj must be saved

        def live():
            obj.refresh_from_db()
            host = mailhost_of(obj)
            host.refresh_from_db()
            return host.state_of(obj.revision) == "live"

        wait_until(live, timeout=timeout, what=f"{obj} to be live")


@pytest.fixture
def mail(mailstack, _dns_server_process):
    # rspamd asks the tests' DNS server about every sender: start from no records (an earlier test's DMARC
    # policy for the same domain must not refuse this test's mail) and no silenced names (rspamd would wait)
    _dns_server_process.set_zone("")
    _dns_server_process.resolver.silent.clear()
    return MailClient(mailstack)
