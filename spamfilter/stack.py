"""rspamd in the local mail stack (mailhosts/stack.py), from deploy/rspamd/ and deploy/dovecot/sieve/.

Postfix reaches rspamd's milter on a Unix socket in the stack directory; learning goes to its controller on
the stack's `rspamd_controller` port, with the password `RSPAMD_CONTROLLER_PASSWORD` (rspamd is given its
hash, the learning scripts a file with it that only root and the mail user can read). The test stack differs
from production only in its values: no checks that ask the internet (RSPAMD_NETWORK_CHECKS=false), SPF, DKIM
and DMARC asked of `MAILSTACK_RSPAMD_NAMESERVER` (the integration tests' own DNS server; off without one),
Bayes answers after a single learn, and one extra multimap rule (`multimap-stack.conf`): a message with the
header `X-Postbode-Test-Spam: probable` scores 7 points, so tests (and developers) can produce probable spam
on demand.

The first start of rspamd compiles its regular expressions (about 16 s on a 2-core machine); they are kept in
`RSPAMD_HS_CACHE_DIR` (default var/rspamd-cache/, outside the stack directory that tests wipe), so later
starts take about a second.
"""

import os
import pwd
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

from mailhosts.models import MailHost
from mailhosts.stack import MailStack, StackError, StackService, port_open, signal_pidfile

from .models import SpamHost
from .reload import fast_path_command

CONTROLLER_OFFSET = 40
RSPAMD_USER = "_rspamd"
START_TIMEOUT = 120.0  # a first start without the regex cache, on a busy machine
TEST_SCORE_HEADER = "X-Postbode-Test-Spam"
TEMPLATES = {
    "dovecot/spamfilter-sql.conf.ext": "dovecot/spamfilter-sql.conf.ext",
    "rspamd/rspamd.conf": "rspamd/rspamd.conf",
    "rspamd/rspamd.conf.local.override": "rspamd/rspamd.conf.local.override",
    **{
        f"rspamd/local.d/{name}": f"rspamd/local.d/{name}"
        for name in [
            "options.inc",
            "logging.inc",
            "actions.conf",
            "greylist.conf",
            "phishing.conf",
            "milter_headers.conf",
            "redis.conf",
            "classifier-bayes.conf",
            "multimap.conf",
            "force_actions.conf",
            "dmarc.conf",
            "history_redis.conf",
        ]
    },
    # SPF, DKIM, DMARC and ARC ask DNS, but only of the host's own resolver (options.inc)
    **{
        f"rspamd/local.d/{module}.conf": "rspamd/local.d/sender-check.conf"
        for module in ["spf", "dkim", "arc"]
    },
    # every check that asks the network reads one switch (deploy/rspamd/local.d/network-check.conf)
    **{
        f"rspamd/local.d/{module}.conf": "rspamd/local.d/network-check.conf"
        for module in [
            "rbl",
            "surbl",
            "emails",
            "asn",
            "hfilter",
            "fuzzy_check",
            "neural",
            "reputation",
            "mx_check",
            "dcc",
            "url_redirector",
        ]
    },
    "dovecot/sieve/learn-spam.sieve": "dovecot/sieve/learn-spam.sieve",
    "dovecot/sieve/learn-ham.sieve": "dovecot/sieve/learn-ham.sieve",
    # one script under two names: the name says what it teaches
    "dovecot/sieve/bin/learn-spam": "dovecot/sieve/bin/learn",
    "dovecot/sieve/bin/learn-ham": "dovecot/sieve/bin/learn",
}
# Files rspamd and Dovecot read before the panel's first apply has written them.
RENDERED_PLACEHOLDERS = [
    "spamfilter/rspamd-settings.conf",
    "spamfilter/allow-mailbox.map",
    "spamfilter/block-mailbox.map",
    "spamfilter/allow-domain.map",
    "spamfilter/block-domain.map",
]


def pidfile(stack: MailStack) -> Path:
    return stack.path("rspamd", "run", "rspamd.pid")


def milter_socket(stack: MailStack) -> Path:
    return stack.path("rspamd", "run", "milter.sock")


def controller_url(stack: MailStack) -> str:
    return f"http://127.0.0.1:{stack.ports['rspamd_controller']}"


def controller_password_file(stack: MailStack) -> Path:
    return stack.path("rspamd", "controller.password")


def password_hash(secret: str) -> str:
    """rspamd's own hash of the controller password (`rspamadm pw`: catena, a random salt)."""
    completed = subprocess.run(["rspamadm", "pw", "-p", secret], capture_output=True, text=True)
    hashed = completed.stdout.strip()
    if completed.returncode != 0 or not hashed.startswith("$"):
        raise StackError(f"rspamadm pw failed: {completed.stdout}{completed.stderr}")
    return hashed


def hs_cache_dir() -> Path:
    return Path(settings.RSPAMD_HS_CACHE_DIR)


def values(stack: MailStack, config_dir: Path) -> dict[str, str]:
    redis_host, redis_db = redis_server(settings.MAILSTACK_RSPAMD_REDIS_URL)
    return {
        "SPAMFILTER_SQL_CONF": str(stack.path("dovecot", "spamfilter-sql.conf.ext")),
        "RSPAMD_MILTER_SOCKET": str(milter_socket(stack)),
        "RSPAMD_CONTROLLER_PORT": str(stack.ports["rspamd_controller"]),
        "RSPAMD_RUN_DIR": str(stack.path("rspamd", "run")),
        "RSPAMD_LOG": str(stack.path("log", "rspamd.log")),
        "RSPAMD_PROXY_WORKERS": "2",
        "RSPAMD_HS_CACHE_DIR": str(hs_cache_dir()),
        "RSPAMD_NETWORK_CHECKS": "false",
        "RSPAMD_NAMESERVER": nameserver(settings.MAILSTACK_RSPAMD_NAMESERVER),
        "RSPAMD_SENDER_CHECKS": "true" if settings.MAILSTACK_RSPAMD_NAMESERVER else "false",
        # loopback is where the test stack's mail comes from: check it like mail from the internet
        "RSPAMD_CHECK_LOCAL": "true",
        "RSPAMD_CONTROLLER_PASSWORD_FILE": str(controller_password_file(stack)),
        "RSPAMD_REDIS_SERVER": redis_host,
        "RSPAMD_REDIS_DB": redis_db,
        "RSPAMD_BAYES_MIN_LEARNS": "1",
        "SIEVE_GLOBAL_DIR": str(stack.path("dovecot", "sieve")),
        "SPAM_LEARN_LOG": str(stack.path("log", "spam-learn.log")),
    }


def nameserver(value: str) -> str:
    """MAILSTACK_RSPAMD_NAMESERVER as it goes into options.inc: an address and port, nothing else."""
    if not value:
        return "127.0.0.1:53"  # not asked: the sender checks are off without a nameserver
    if not re.fullmatch(r"[0-9A-Za-z.\-]+:[0-9]{1,5}|\[[0-9A-Fa-f:.]+\]:[0-9]{1,5}", value):
        raise StackError(f"MAILSTACK_RSPAMD_NAMESERVER must be host:port, not {value!r}")
    return value


def redis_server(url: str) -> tuple[str, str]:
    """("127.0.0.1:6379", "9") from redis://127.0.0.1:6379/9."""
    rest = url.split("://", 1)[-1]
    server, _slash, db = rest.partition("/")
    return server.rpartition("@")[2] or "127.0.0.1:6379", db or "0"


def owned_by(path: Path, user: str, *, directory: bool = True) -> None:
    if directory:
        path.mkdir(parents=True, exist_ok=True)
    else:
        path.touch(exist_ok=True)
    if os.geteuid() == 0:
        account = pwd.getpwnam(user)
        os.chown(path, account.pw_uid, account.pw_gid)


def prepare(stack: MailStack, config_dir: Path) -> None:
    """Directories for rspamd (run as _rspamd), the learning scripts (run as the mail user), the test rule,
    and empty rendered files so rspamd and Dovecot start before the first apply."""
    for directory in [stack.path("rspamd", "run"), stack.path("rspamd", "db"), hs_cache_dir()]:
        owned_by(directory, RSPAMD_USER)
    owned_by(stack.path("log", "rspamd.log"), RSPAMD_USER, directory=False)
    learn_log = stack.path("log", "spam-learn.log")
    learn_log.touch(exist_ok=True)
    if os.geteuid() == 0:
        os.chown(learn_log, settings.MAIL_UID, settings.MAIL_GID)
    for script in stack.path("dovecot", "sieve", "bin").iterdir():
        script.chmod(0o755)
    for name in ["learn-spam", "learn-ham"]:
        compile_sieve(stack, stack.path("dovecot", "sieve", f"{name}.sieve"))
    test_map = stack.path("rspamd", "test-spam.map")
    test_map.write_text("probable\n")
    stack.path("rspamd", "local.d", "multimap-stack.conf").write_text(
        "POSTBODE_TEST_SPAM {\n"
        '  type = "header";\n'
        f'  header = "{TEST_SCORE_HEADER}";\n'
        f'  map = "file://{test_map}";\n'
        "  score = 7.0;\n"
        '  description = "test mail stack only: a fixed score for a message that asks for it";\n'
        "}\n"
    )
    write_controller_password(stack)
    for rel in RENDERED_PLACEHOLDERS:
        path = Path(config_dir) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)


def write_controller_password(stack: MailStack) -> None:
    """The hash for rspamd (readable by root and rspamd's group) and the password itself for the
    learning scripts (root and the mail user's group only)."""
    include = stack.path("rspamd", "local.d", "worker-controller-password.inc")
    hashed = password_hash(settings.RSPAMD_CONTROLLER_PASSWORD)
    include.write_text(f'password = "{hashed}";\nenable_password = "{hashed}";\n')
    include.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(include, 0, pwd.getpwnam(RSPAMD_USER).pw_gid)
    secret = controller_password_file(stack)
    secret.write_text(settings.RSPAMD_CONTROLLER_PASSWORD + "\n")
    secret.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(secret, 0, settings.MAIL_GID)


def compile_sieve(stack: MailStack, script: Path) -> None:
    """Global scripts are compiled beforehand: the mail user may not write next to them."""
    completed = subprocess.run(
        ["sievec", "-c", str(stack.dovecot_conf), str(script)], capture_output=True, text=True
    )
    if completed.returncode != 0:
        raise StackError(f"sievec {script} failed: {completed.stdout}{completed.stderr}")


def rspamd_command(stack: MailStack) -> list[str]:
    return [
        "rspamd",
        "-c",
        str(stack.path("rspamd", "rspamd.conf")),
        f"--var=LOCAL_CONFDIR={stack.path('rspamd')}",
        f"--var=DBDIR={stack.path('rspamd', 'db')}",
        f"--var=RUNDIR={stack.path('rspamd', 'run')}",
        f"--var=LOGDIR={stack.path('log')}",
        "-u",
        RSPAMD_USER,
        "-g",
        RSPAMD_USER,
    ]


def start(stack: MailStack, config_dir: Path) -> None:
    if shutil.which("rspamd") is None:
        raise StackError("rspamd is not installed (Debian package rspamd)")
    log = stack.path("log", "start.log")
    with open(log, "ab") as output:
        completed = subprocess.run(
            rspamd_command(stack), stdin=subprocess.DEVNULL, stdout=output, stderr=output
        )
    if completed.returncode != 0:
        raise StackError(f"rspamd failed to start; see {log} and {stack.path('log', 'rspamd.log')}")
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if milter_socket(stack).exists() and port_open(stack.ports["rspamd_controller"]):
            return
        time.sleep(0.1)
    raise StackError(
        f"rspamd did not listen within {START_TIMEOUT:.0f}s; see {stack.path('log', 'rspamd.log')}"
    )


def stop(stack: MailStack) -> list[int | None]:
    return [signal_pidfile(pidfile(stack))]


def reload_commands(stack: MailStack) -> list[list[str]]:
    """When the panel's rspamd files changed: HUP rspamd and wait until its new settings serve
    (spamfilter/reload.py, run without Django; a shell test first, so other applies cost a few ms)."""
    script = Path(settings.BASE_DIR) / "spamfilter" / "reload.py"
    return [
        fast_path_command(
            sys.executable,
            str(script),
            str(pidfile(stack)),
            controller_url(stack),
            str(stack.path("rspamd")),
            str(controller_password_file(stack)),
        )
    ]


def attach(stack: MailStack, host: MailHost) -> None:
    """The panel reads this stack's rspamd log and learning log, and asks its controller for its status."""
    SpamHost.objects.update_or_create(
        mailhost=host,
        defaults={
            "scan_log": str(stack.path("log", "rspamd.log")),
            "learn_log": str(stack.path("log", "spam-learn.log")),
            "controller_url": controller_url(stack),
        },
    )


def describe(stack: MailStack) -> list[str]:
    nameserver = settings.MAILSTACK_RSPAMD_NAMESERVER
    return [
        f"  rspamd (spam filter)        milter {milter_socket(stack)}, controller {controller_url(stack)}",
        f"                              controller password: RSPAMD_CONTROLLER_PASSWORD (in {controller_password_file(stack)})",
        f"                              SPF, DKIM, DMARC: {f'asking {nameserver}' if nameserver else 'off (set MAILSTACK_RSPAMD_NAMESERVER)'}",
        f"                              probable spam on demand: header '{TEST_SCORE_HEADER}: probable'",
    ]


RSPAMD_SERVICE = StackService(
    name="rspamd",
    templates=TEMPLATES,
    ports={"rspamd_controller": CONTROLLER_OFFSET},
    values=values,
    prepare=prepare,
    start=start,
    stop=stop,
    attach=attach,
    describe=describe,
    reload_commands=reload_commands,
)
