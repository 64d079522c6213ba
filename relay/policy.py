"""Hourly sending limits, enforced by a Postfix policy delegation server (`check_policy_service`).

Postfix sends attribute lines (`name=value`) ended by a blank line and expects `action=...` and a blank line
back, many requests per connection (https://www.postfix.org/SMTPD_POLICY_README.html). For each message an
authenticated user (relay credential or mailbox) submits, the counter of that user in the current clock hour
goes up by one in Redis (`INCR` + `EXPIRE`); a message is counted once, at its first recipient, by the
request's `instance`. Past the plan's `hourly_send_limit` the answer is `DEFER_IF_PERMIT 4.7.1 ...`, a
temporary failure: the application retries later. Anything else gets `DUNNO`. When Redis or the database is
unreachable the server answers `DUNNO` (mail keeps flowing; limits are a brake, not a lock).
"""

import logging
import socketserver
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.db import close_old_connections, connection
from redis.backoff import NoBackoff
from redis.retry import Retry

from mailaccounts.models import Mailbox

from .models import RelayCredential

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 3600
LIMIT_CACHE_SECONDS = 60
DUNNO = "DUNNO"


def hour_window(at: float | None = None) -> str:
    return datetime.fromtimestamp(at if at is not None else time.time(), UTC).strftime("%Y%m%d%H")


def counter_key(username: str, window: str) -> str:
    return f"relay:sent:{username.lower()}:{window}"


def redis_client(url: str | None = None) -> redis.Redis:
    """A client that fails fast: a policy answer must not wait on retries (Postfix waits for us)."""
    return redis.Redis.from_url(
        url or settings.RELAY_POLICY_REDIS_URL,
        socket_timeout=2,
        socket_connect_timeout=2,
        retry=Retry(NoBackoff(), 1),
    )


def limit_for_user(username: str) -> int | None:
    """The hourly limit of a relay credential's or a mailbox's customer's plan; None for unknown users."""
    credential = RelayCredential.objects.filter(username=username).select_related("customer__plan").first()
    if credential is not None:
        return credential.customer.plan.hourly_send_limit
    local_part, _at, domain = username.lower().rpartition("@")
    mailbox = (
        Mailbox.objects.filter(local_part=local_part, domain__name=domain, deleted_at__isnull=True)
        .select_related("customer__plan")
        .first()
    )
    return mailbox.customer.plan.hourly_send_limit if mailbox is not None else None


def usage(usernames: Iterable[str], *, client: redis.Redis | None = None) -> dict[str, int | None]:
    """Messages each user sent in the current hour, read from the policy server's counters (None: unknown)."""
    usernames = list(usernames)
    if not usernames:
        return {}
    window = hour_window()
    try:
        values = (client or redis_client()).mget([counter_key(u, window) for u in usernames])
    except redis.RedisError:
        return dict.fromkeys(usernames)
    return {u: int(v or 0) for u, v in zip(usernames, values, strict=True)}


class SendingLimits:
    """Decides one policy request. `limit_for(username)` gives the hourly limit (None: no limit)."""

    def __init__(self, client: redis.Redis, *, limit_for: Callable[[str], int | None] = limit_for_user):
        self.redis = client
        self.limit_for = limit_for
        self._limits: dict[str, tuple[float, int | None]] = {}
        self._lock = threading.Lock()

    def decide(self, request: dict[str, str]) -> str:
        username = request.get("sasl_username", "")
        if not username or request.get("protocol_state", "RCPT") != "RCPT":
            return DUNNO
        limit = self._limit(username)
        if limit is None:
            return DUNNO
        return self._count(username, request.get("instance", ""), limit)

    def _count(self, username: str, instance: str, limit: int) -> str:
        window = hour_window()
        key = counter_key(username, window)
        seen = f"relay:seen:{username.lower()}:{instance}"
        if instance and not self.redis.set(seen, 1, nx=True, ex=WINDOW_SECONDS):
            return DUNNO  # a further recipient of a message already counted
        with self.redis.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, 2 * WINDOW_SECONDS)
            count, _ok = pipe.execute()
        if count <= limit:
            return DUNNO
        self.redis.decr(key)  # a refused message does not use up the allowance
        if instance:
            self.redis.delete(seen)
        return f"DEFER_IF_PERMIT 4.7.1 Sending limit of {limit} messages per hour reached for user {username}"

    def _limit(self, username: str) -> int | None:
        now = time.monotonic()
        with self._lock:
            cached = self._limits.get(username)
            if cached is not None and cached[0] > now:
                return cached[1]
        limit = self.limit_for(username)
        with self._lock:
            self._limits[username] = (now + LIMIT_CACHE_SECONDS, limit)
        return limit


class PolicyHandler(socketserver.StreamRequestHandler):
    def handle(self):
        try:
            while True:
                request = self._read_request()
                if request is None:
                    return
                self.wfile.write(f"action={self._decide(request)}\n\n".encode())
                self.wfile.flush()
        except (ConnectionError, TimeoutError):
            return
        finally:
            connection.close()  # this thread's database connection

    def _read_request(self) -> dict[str, str] | None:
        request: dict[str, str] = {}
        while True:
            line = self.rfile.readline(10_000)
            if not line:
                return None
            line = line.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                return request
            name, _sep, value = line.partition("=")
            request[name.strip()] = value

    def _decide(self, request: dict[str, str]) -> str:
        try:
            close_old_connections()
            return self.server.limits.decide(request)
        except Exception:  # never let one request take the mail flow down: fail open, and say so
            logger.exception("relay policy: answering DUNNO after an error")
            return DUNNO


class PolicyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], limits: SendingLimits):
        self.limits = limits
        super().__init__(address, PolicyHandler)
