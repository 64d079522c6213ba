"""The local mail stack: Postfix, Dovecot, OpenDKIM and the capabilities' daemons on loopback ports, run
from deploy/'s templates.

`MailStack(directory, port_base)` fills the very templates production uses (deploy/postfix, deploy/dovecot,
deploy/opendkim, and those the capabilities register) with paths under `directory` and ports from
`port_base`, makes a throw-away test CA and a server certificate, and runs the daemons plus a small SMTP sink
(mailhosts/smtpsink.py) standing in for the internet: mail for any domain the stack does not host ends up as
a file in `<directory>/sink/`.

A capability adds its own daemon with a `StackService` registered in its `AppConfig.ready`
(`register_stack_service`): its templates, its ports (fixed offsets, checked against every other's), the
values its templates need, and how to start and stop it. The relay's policy service is one (relay/stack.py).

Ports are `port_base + offset` (see `PORT_OFFSETS` and the services' `ports`); offsets stay below
`PORT_SPACING`, so stacks with bases that far apart can run side by side. `manage.py mailstack
start|stop|status` drives it for developers; tests/integration uses it directly.
"""

import contextlib
import datetime
import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from .files import ensure_user_database
from .rendering import user_table_databases

DEPLOY_DIR = Path(settings.BASE_DIR) / "deploy"
TEMPLATES = {
    "postfix/etc/main.cf": "postfix/main.cf",
    "postfix/etc/master.cf": "postfix/master.cf",
    "dovecot/dovecot.conf": "dovecot/dovecot.conf",
    "dovecot/dovecot-sql.conf.ext": "dovecot/dovecot-sql.conf.ext",
    "dovecot/relay-sql.conf.ext": "dovecot/relay-sql.conf.ext",
    "opendkim/opendkim.conf": "opendkim/opendkim.conf",
    "opendkim/opendkim-ed25519.conf": "opendkim/opendkim-ed25519.conf",
}
PORT_SPACING = 100  # offsets of all services stay below this
PORT_OFFSETS = {
    "smtp": 0,
    "submission": 1,
    "submissions": 2,
    "imap": 3,
    "imaps": 4,
    "pop3": 5,
    "pop3s": 6,
    "lmtp": 7,
    "milter": 8,
    "reinject": 9,
    "sink": 10,
    "milter_ed25519": 11,
}
PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")


class StackError(Exception):
    """The stack could not be prepared, started or reached; the message says why."""


@dataclass(frozen=True)
class StackService:
    """A daemon a capability adds to the mail stack.

    - `templates`: target below the stack directory → source below deploy/, filled like the core ones;
    - `ports`: name → offset from the port base (unique across all services, below `PORT_SPACING`);
    - `values(stack, config_dir)`: further `@NAME@` values its (or the core) templates need;
    - `prepare(stack, config_dir)`: directories and files before anything starts;
    - `start(stack, config_dir)` / `stop(stack)`: run and end it (`stop` returns pids to wait for);
    - `attach(stack, host)`: after start, what the panel's side needs to know about it (a log source);
    - `describe(stack)`: lines for `manage.py mailstack start`;
    - `reload_commands(stack)`: steps a host served by the stack runs after an apply changed files (the host's
      reload steps, after the core ones).
    """

    name: str
    templates: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    values: Callable[["MailStack", Path], dict[str, str]] | None = None
    prepare: Callable[["MailStack", Path], None] | None = None
    start: Callable[["MailStack", Path], None] | None = None
    stop: Callable[["MailStack"], list[int | None]] | None = None
    attach: Callable[["MailStack", Any], None] | None = None
    describe: Callable[["MailStack"], list[str]] | None = None
    reload_commands: Callable[["MailStack"], list[list[str]]] | None = None


_services: dict[str, StackService] = {}


def register_stack_service(service: StackService) -> None:
    """Add a capability's daemon to every mail stack; refuses a port offset another service uses."""
    taken = {offset: name for name, offset in PORT_OFFSETS.items()}
    for other in _services.values():
        if other.name != service.name:
            taken.update({offset: name for name, offset in other.ports.items()})
    for name, offset in service.ports.items():
        if offset in taken or not 0 <= offset < PORT_SPACING:
            raise StackError(f"port offset {offset} of {service.name}/{name} is taken or out of range")
    _services[service.name] = service


def stack_services() -> list[StackService]:
    return list(_services.values())


def all_port_offsets() -> dict[str, int]:
    offsets = dict(PORT_OFFSETS)
    for service in _services.values():
        offsets.update(service.ports)
    return offsets


def all_templates() -> dict[str, str]:
    templates = dict(TEMPLATES)
    for service in _services.values():
        templates.update(service.templates)
    return templates


def read_vars(path: Path) -> dict[str, str]:
    """`NAME=value` lines (comments and blank lines ignored), as in deploy/production.vars."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def fill_template(text: str, values: dict[str, str]) -> str:
    missing = sorted({name for name in PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise StackError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def render_templates(values: dict[str, str], out: Path) -> list[Path]:
    """Fill every template of deploy/ with `values` and write them below `out`."""
    written = []
    for target, source in all_templates().items():
        path = out / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fill_template((DEPLOY_DIR / source).read_text(), values))
        written.append(path)
    return written


def is_traversable_by_all(path: Path) -> bool:
    """Dovecot's mail processes (uid 5000) and Postfix (user postfix) must reach the stack's files."""
    path = path.resolve()
    return all(part.stat().st_mode & 0o001 for part in [*reversed(path.parents), path] if part.exists())


def has_world_writable_parent(path: Path) -> bool:
    """OpenDKIM refuses keys below a world-writable directory such as /tmp (MAILSTACK-NOTES.md)."""
    return any(parent.stat().st_mode & 0o002 for parent in path.resolve().parents)


@dataclass
class MailStack:
    directory: Path
    port_base: int
    hostname: str = "mail.postbode.test"

    def __post_init__(self):
        self.directory = Path(self.directory).resolve()

    # --- layout ---

    @property
    def ports(self) -> dict[str, int]:
        return {name: self.port_base + offset for name, offset in all_port_offsets().items()}

    def path(self, *parts: str) -> Path:
        return self.directory.joinpath(*parts)

    @property
    def postfix_etc(self) -> Path:
        return self.path("postfix", "etc")

    @property
    def dovecot_conf(self) -> Path:
        return self.path("dovecot", "dovecot.conf")

    @property
    def opendkim_pidfile(self) -> Path:
        return self.path("opendkim", "opendkim.pid")

    @property
    def opendkim_ed25519_pidfile(self) -> Path:
        return self.path("opendkim", "opendkim-ed25519.pid")

    @property
    def sink_dir(self) -> Path:
        return self.path("sink")

    @property
    def mail_dir(self) -> Path:
        return self.path("mail")

    @property
    def ca_file(self) -> Path:
        return self.path("tls", "ca.pem")

    @property
    def state_file(self) -> Path:
        return self.path("stack.json")

    def values(self, config_dir: Path) -> dict[str, str]:
        ports = self.ports
        tls = self.path("tls")
        values = {
            "HOSTNAME": self.hostname,
            "INET_INTERFACES": "127.0.0.1",
            "INET_PROTOCOLS": "ipv4",
            "LISTEN": "127.0.0.1",
            "CONFIG_DIR": str(Path(config_dir).resolve()),
            "MAIL_DIR": str(self.mail_dir),
            "MAIL_UID": str(settings.MAIL_UID),
            "MAIL_GID": str(settings.MAIL_GID),
            "QUEUE_DIR": str(self.path("postfix", "spool")),
            "DATA_DIR": str(self.path("postfix", "data")),
            "MAILLOG_FILE": str(self.path("log", "postfix.log")),
            "MAILLOG_PREFIXES": str(self.path("log")),
            "RELAYHOST": f"[127.0.0.1]:{ports['sink']}",
            "SMTP_DNS_SUPPORT_LEVEL": "disabled",
            "TLS_CERT": str(tls / "server.pem"),
            "TLS_KEY": str(tls / "server.key"),
            "SMTP_LISTEN": f"127.0.0.1:{ports['smtp']}",
            "SUBMISSION_LISTEN": f"127.0.0.1:{ports['submission']}",
            "SUBMISSIONS_LISTEN": f"127.0.0.1:{ports['submissions']}",
            "REINJECT_LISTEN": f"127.0.0.1:{ports['reinject']}",
            "SUBMISSION_HOST": f"127.0.0.1:{ports['reinject']}",
            "IMAP_PORT": str(ports["imap"]),
            "IMAPS_PORT": str(ports["imaps"]),
            "POP3_PORT": str(ports["pop3"]),
            "POP3S_PORT": str(ports["pop3s"]),
            "LMTP_PORT": str(ports["lmtp"]),
            "MILTER_PORT": str(ports["milter"]),
            "MILTER_ED25519_PORT": str(ports["milter_ed25519"]),
            "DOVECOT_BASE_DIR": str(self.path("dovecot", "run")),
            "DOVECOT_STATE_DIR": str(self.path("dovecot", "state")),
            "DOVECOT_LOG": str(self.path("log", "dovecot.log")),
            "DOVECOT_SQL_CONF": str(self.path("dovecot", "dovecot-sql.conf.ext")),
            "RELAY_SQL_CONF": str(self.path("dovecot", "relay-sql.conf.ext")),
            "INSTANCE_NAME": f"postbode-stack-{self.port_base}",
            "SIEVE_VACATION_MIN_PERIOD": "0",
            "OPENDKIM_SYSLOG": "no",
            "OPENDKIM_PIDFILE": str(self.opendkim_pidfile),
            "OPENDKIM_ED25519_PIDFILE": str(self.opendkim_ed25519_pidfile),
            "OPENDKIM_USER": "root",
            "OPENDKIM_REQUIRE_SAFE_KEYS": "no" if has_world_writable_parent(Path(config_dir)) else "yes",
            "MESSAGE_SIZE_LIMIT": str(10 * 1024 * 1024),
            "BOUNCE_QUEUE_LIFETIME": "1h",
            "MAXIMAL_QUEUE_LIFETIME": "1h",
        }
        for service in stack_services():
            if service.values:
                values.update(service.values(self, config_dir))
        return values

    def host_settings(self) -> dict:
        """What a MailHost needs so the panel's applies reach this stack."""
        return {
            "mail_dir": str(self.mail_dir),
            "postmap_command": ["postmap", "-c", str(self.postfix_etc)],
            # postfix reload: a rebuilt hash map is otherwise noticed only after an idle daemon has served
            # one more request with the old one (the first message after a change could take the old route).
            "reload_commands": [
                ["postfix", "-c", str(self.postfix_etc), "reload"],
                *(
                    ["sh", "-c", f'kill -USR1 "$(cat {pidfile})"']
                    for pidfile in [self.opendkim_pidfile, self.opendkim_ed25519_pidfile]
                ),
                *(
                    command
                    for service in stack_services()
                    if service.reload_commands
                    for command in service.reload_commands(self)
                ),
            ],
            "doveadm_command": ["doveadm", "-c", str(self.dovecot_conf)],
        }

    # --- preparing ---

    def prepare(self, config_dir: Path) -> None:
        """Directories, certificates and configuration files (idempotent)."""
        if not is_traversable_by_all(self.directory) or not is_traversable_by_all(Path(config_dir)):
            raise StackError(
                f"{self.directory} or {config_dir} is below a directory other users cannot enter; the mail "
                "daemons drop privileges and need to. Set MAILSTACK_DIR (and the host's config directory) elsewhere."
            )
        for sub in ["log", "sink", "mail", "dovecot/run", "dovecot/state", "opendkim", "postfix/spool"]:
            self.path(sub).mkdir(parents=True, exist_ok=True)
        data_dir = self.path("postfix", "data")
        data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            import pwd

            postfix = pwd.getpwnam("postfix")
            os.chown(data_dir, postfix.pw_uid, postfix.pw_gid)
            os.chown(self.mail_dir, settings.MAIL_UID, settings.MAIL_GID)
        make_certificates(self.path("tls"), self.hostname)
        render_templates(self.values(config_dir), self.directory)
        placeholders = ["opendkim/KeyTable", "opendkim/SigningTable"]
        for rel in [*placeholders, "opendkim/ed25519/KeyTable", "opendkim/ed25519/SigningTable"]:
            placeholder = Path(config_dir) / rel
            placeholder.parent.mkdir(parents=True, exist_ok=True)
            placeholder.touch(exist_ok=True)
        for database, layout in user_table_databases().items():  # before Dovecot first opens them
            ensure_user_database(Path(config_dir) / database, 0o644, layout=layout)
        for service in stack_services():
            if service.prepare:
                service.prepare(self, config_dir)

    # --- running ---

    def start(self, config_dir: Path) -> None:
        if self.is_running():
            raise StackError(f"a mail stack is already running in {self.directory}")
        self.prepare(config_dir)
        self.start_sink()
        for service in stack_services():
            if service.start:
                service.start(self, config_dir)
        log = self.path("log", "start.log")
        run(["opendkim", "-x", str(self.path("opendkim", "opendkim.conf"))], log)
        run(["opendkim", "-x", str(self.path("opendkim", "opendkim-ed25519.conf"))], log)
        run(["dovecot", "-c", str(self.dovecot_conf)], log)
        run(["postfix", "-c", str(self.postfix_etc), "start"], log)
        self.state_file.write_text(json.dumps({"config_dir": str(config_dir), "ports": self.ports}, indent=2))
        self.wait_for_ports()

    def start_sink(self) -> None:
        log = open(self.path("log", "sink.log"), "ab")  # noqa: SIM115 - handed to the child process
        process = subprocess.Popen(
            [sys.executable, "-m", "mailhosts.smtpsink", str(self.sink_dir), str(self.ports["sink"])],
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        self.path("sink.pid").write_text(str(process.pid))

    def wait_for_ports(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        waiting = dict(self.ports)
        while waiting and time.monotonic() < deadline:
            waiting = {name: port for name, port in waiting.items() if not port_open(port)}
            if waiting:
                time.sleep(0.05)
        if waiting:
            raise StackError(f"not listening after {timeout}s: {waiting}; see {self.path('log')}")

    def stop(self) -> None:
        """Stop every daemon at once (each takes a second or more on its own) and wait until all are gone."""
        quiet: dict[str, Any] = {
            "stdin": subprocess.DEVNULL,
            "stdout": subprocess.DEVNULL,
            "stderr": subprocess.DEVNULL,
        }
        stopping = [
            subprocess.Popen(["postfix", "-c", str(self.postfix_etc), "stop"], **quiet),
            subprocess.Popen(["doveadm", "-c", str(self.dovecot_conf), "stop"], **quiet),
        ]
        pidfiles = [self.opendkim_pidfile, self.opendkim_ed25519_pidfile, self.path("sink.pid")]
        pids = [signal_pidfile(pidfile) for pidfile in pidfiles]
        for service in stack_services():
            if service.stop:
                pids.extend(service.stop(self))
        for process in stopping:
            process.wait()
        for pid in pids:
            wait_for_exit(pid)
        deadline = time.monotonic() + 10
        while any(port_open(port) for port in self.ports.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.state_file.unlink(missing_ok=True)

    def status(self) -> dict[str, bool]:
        return {name: port_open(port) for name, port in self.ports.items()}

    def is_running(self) -> bool:
        return any(self.status().values())

    # --- using ---

    def sink_messages(self) -> list[Path]:
        return sorted(self.sink_dir.glob("*.eml"))

    def describe(self) -> str:
        ports = self.ports
        return "\n".join(
            [
                f"Mail stack in {self.directory} (host name {self.hostname}, port base {self.port_base})",
                f"  SMTP (incoming, port 25)    127.0.0.1:{ports['smtp']}",
                f"  Submission STARTTLS (587)   127.0.0.1:{ports['submission']}",
                f"  Submission TLS (465)        127.0.0.1:{ports['submissions']}",
                f"  IMAP STARTTLS (143)         127.0.0.1:{ports['imap']}",
                f"  IMAPS (993)                 127.0.0.1:{ports['imaps']}",
                f"  POP3 STARTTLS (110)         127.0.0.1:{ports['pop3']}",
                f"  POP3S (995)                 127.0.0.1:{ports['pop3s']}",
                f"  Sink for outside mail       127.0.0.1:{ports['sink']} -> {self.sink_dir}/",
                *(
                    line
                    for service in stack_services()
                    if service.describe
                    for line in service.describe(self)
                ),
                f"  Test CA certificate         {self.ca_file}",
                f"  Logs                        {self.path('log')}/",
                "Mail client: server 127.0.0.1 (or localhost), user = the full mailbox address, password = the",
                "one set in the panel; IMAP/POP3/SMTP ports as above with SSL/TLS or STARTTLS; trust the test",
                "CA certificate above (or accept the certificate once).",
            ]
        )


def run(command: list[str], log: Path) -> None:
    """Run a daemon's start command. Output goes to a file: a daemon that forks keeps pipes open forever."""
    with open(log, "ab") as output:
        completed = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=output, stderr=output)
    if completed.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise StackError(f"{' '.join(command)} failed with status {completed.returncode}:\n{tail}")


def signal_pidfile(pidfile: Path) -> int | None:
    """SIGTERM the process named in a pid file; its pid, or None when there was none."""
    try:
        pid = int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    pidfile.unlink(missing_ok=True)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return None
    return pid


def wait_for_exit(pid: int | None, timeout: float = 10) -> None:
    """Wait until a process is gone (OpenDKIM takes a while to free its port)."""
    deadline = time.monotonic() + timeout
    while pid is not None and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # reap it when it is our child (the sink)
            os.waitpid(pid, os.WNOHANG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def make_certificates(directory: Path, hostname: str) -> None:
    """A throw-away CA (ca.pem) and a server certificate it signed for hostname, localhost and 127.0.0.1."""
    if (directory / "server.pem").exists():
        return
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Postbode test CA (throw-away)")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [
        x509.DNSName(hostname),
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    key_path = directory / "server.key"
    key_path.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    (directory / "server.pem").write_bytes(cert.public_bytes(pem) + ca_cert.public_bytes(pem))
