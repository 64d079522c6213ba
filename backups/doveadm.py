"""Talking to a mail host's Dovecot: its doveadm HTTP API (from the panel, for recently deleted mail) and its
`doveadm` command (on the host, in the restore task).

The HTTP API takes commands as JSON lists, so customer input (a search text, a folder name) travels as one
argument each and never through a shell or a query string. Errors come back as an exit code: 67 is an
unknown user, 68 a mailbox or message that is not there, 65 a mailbox that exists already.
"""

import base64
import json
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header, make_header

from django.conf import settings
from django.utils import timezone

EXPUNGED_PREFIX = ".EXPUNGED/"  # lazy_expunge's namespace (deploy/dovecot/dovecot.conf)
NOT_FOUND = 68
EXISTS = 65
TIMEOUT = 30


class DoveadmError(Exception):
    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class DeletedMessage:
    guid: str
    folder: str
    deleted_at: datetime | None
    sender: str
    subject: str
    message_id: str
    size: int


def decoded(value: str) -> str:
    try:
        return str(make_header(decode_header(value or ""))).strip()
    except (UnicodeError, LookupError, ValueError):
        return (value or "").strip()


def parse_time(value: str) -> datetime | None:
    try:
        return timezone.make_aware(datetime.strptime(value, "%Y-%m-%d %H:%M:%S"))
    except (TypeError, ValueError):
        return None


class DoveadmApi:
    """doveadm's HTTP API of one mail host (`service doveadm { inet_listener http }`)."""

    def __init__(self, url: str, api_key: str | None = None):
        self.url = url
        self.api_key = api_key if api_key is not None else settings.DOVEADM_API_KEY

    def call(self, command: str, parameters: dict) -> list:
        if not self.url.startswith(("http://", "https://")):
            raise DoveadmError(f"doveadm API URL must be http(s): {self.url}")
        body = json.dumps([[command, parameters, "c1"]]).encode()
        token = base64.b64encode(self.api_key.encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            self.url,
            data=body,
            headers={"Authorization": f"X-Dovecot-API {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
                answer = json.load(response)
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise DoveadmError(f"doveadm API {self.url}: {error}") from error
        kind, payload, _tag = answer[0]
        if kind == "error":
            code = payload.get("exitCode")
            raise DoveadmError(f"doveadm {command} failed with exit code {code}", code)
        return payload

    def deleted_messages(self, user: str, *, search: str = "", limit: int = 200) -> list[DeletedMessage]:
        query = ["mailbox", f"{EXPUNGED_PREFIX}*"]
        if search:
            query += ["OR", "subject", search, "from", search]
        fields = [
            "guid",
            "mailbox",
            "date.saved",
            "hdr.from",
            "hdr.subject",
            "hdr.message-id",
            "size.virtual",
        ]
        try:
            rows = self.call("fetch", {"user": user, "field": fields, "query": query})
        except DoveadmError as error:
            if error.exit_code == NOT_FOUND:
                return []
            raise
        messages = [
            DeletedMessage(
                guid=row["guid"],
                folder=row["mailbox"].removeprefix(EXPUNGED_PREFIX),
                deleted_at=parse_time(row.get("date.saved", "")),
                sender=decoded(row.get("hdr.from", "")),
                subject=decoded(row.get("hdr.subject", "")),
                message_id=row.get("hdr.message-id", "").strip(),
                size=int(row.get("size.virtual") or 0),
            )
            for row in rows
            if row.get("mailbox", "").startswith(EXPUNGED_PREFIX)
        ]
        messages.sort(key=lambda m: m.deleted_at or timezone.now(), reverse=True)
        return messages[:limit]

    def find_deleted(self, user: str, *, folder: str, guid: str) -> DeletedMessage | None:
        query = ["mailbox", f"{EXPUNGED_PREFIX}{folder}", "guid", guid]
        try:
            rows = self.call("fetch", {"user": user, "field": ["guid", "mailbox"], "query": query})
        except DoveadmError as error:
            if error.exit_code == NOT_FOUND:
                return None
            raise
        if not rows:
            return None
        return DeletedMessage(guid, folder, None, "", "", "", 0)

    def move_back(self, user: str, *, folder: str, guid: str, destination: str) -> None:
        try:
            self.call("mailboxCreate", {"user": user, "mailbox": [destination], "subscriptions": True})
        except DoveadmError as error:
            if error.exit_code != EXISTS:
                raise
        query = ["mailbox", f"{EXPUNGED_PREFIX}{folder}", "guid", guid]
        self.call("move", {"user": user, "destinationMailbox": destination, "query": query})

    def quota_used_bytes(self, user: str) -> int:
        rows = self.call("quotaGet", {"user": user})
        return sum(int(row.get("value") or 0) * 1024 for row in rows if row.get("type") == "STORAGE")


def command_name(args: tuple[str, ...]) -> str:
    """The doveadm command in an argument list, past its global options (`-f tab`, `-o key=value`)."""
    index = 0
    while index < len(args) and args[index] in ("-f", "-o"):
        index += 2
    return args[index] if index < len(args) else ""


class DoveadmCommand:
    """The `doveadm` command on the mail host itself (the restore task runs there)."""

    def __init__(self, command: list[str]):
        self.command = command or ["doveadm"]

    def run(self, *args: str, timeout: float = 3600) -> str:
        try:
            completed = subprocess.run(
                [*self.command, *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise DoveadmError(f"doveadm {command_name(args)}: {error}") from error
        if completed.returncode != 0:
            raise DoveadmError(
                f"doveadm {command_name(args)} exited with status {completed.returncode}: "
                f"{completed.stderr.strip()[-2000:]}",
                completed.returncode,
            )
        return completed.stdout

    def mailboxes(self, user: str) -> list[str]:
        return self.run("mailbox", "list", "-u", user).splitlines()

    def mailbox_path(self, user: str, mailbox: str) -> str:
        """The directory that holds a mailbox's messages (whether it exists yet or not)."""
        return self.run("mailbox", "path", "-u", user, mailbox).strip()

    def messages_below(self, user: str, parent: str) -> dict[str, int]:
        """{mailbox: messages} of every mailbox below `parent` (one doveadm run for all of them)."""
        output = self.run("-f", "tab", "mailbox", "status", "-u", user, "messages", f"{parent}/*")
        counts = {}
        for line in output.splitlines()[1:]:
            name, _tab, messages = line.rpartition("\t")
            counts[name] = int(messages or 0)
        return counts

    def messages_in(self, user: str, mailbox: str) -> int:
        output = self.run("-f", "flow", "mailbox", "status", "-u", user, "messages", mailbox)
        return int(output.strip().partition("=")[2] or 0)

    def quota_used_bytes(self, user: str) -> int:
        output = self.run("-f", "tab", "quota", "get", "-u", user)
        lines = output.splitlines()
        header = lines[0].split("\t") if lines else []
        used = 0
        for line in lines[1:]:
            row = dict(zip(header, line.split("\t"), strict=False))
            if row.get("Type") == "STORAGE":
                used += int(row.get("Value") or 0) * 1024
        return used

    def import_messages(self, user: str, *, source: str, parent: str, folder: str, sequence: str) -> None:
        """Copy messages `sequence` of `folder` in the Maildir `source` below `parent` in the user's mailbox
        (created and subscribed), with their flags and received dates. Without an fsync per message (by far
        the most of the time an import takes): the caller makes the folder durable at once afterwards
        (`sync_filesystem`)."""
        # the copy is plain Maildir++: its hierarchy separator is "." (Dovecot maps it to "/" below `parent`)
        source_name = folder.replace("/", ".")
        self.run(
            "-o",
            "mail_fsync=never",
            "import",
            "-s",
            "-u",
            user,
            f"maildir:{source}",
            parent,
            "mailbox",
            source_name,
            sequence,
        )
