"""A piece of a whole-host apply run in a forked child process beside the rest, on the machine's second core:
the alias and sender-login maps rendered (`mailaccounts.rendering.routing_parts`) while the process renders
the other files and the other renderers' (`HostConfig.pending`), and Dovecot's table and the part store filled
while the process writes the files (`mailhosts.apply.write_host`; the part store commits only once the parent
gives its go-ahead, `GoAhead`, after the files are in place).

A whole host's apply is mostly Python work on rows already read (rendering maps from them) and SQLite work on
files no other part of the apply touches (Dovecot's user table). Threads do not help there: they take turns
at the interpreter lock (measured: a second thread filling the user table made the apply slower). A child
made with `fork` starts with the parent's memory as it is, so it needs no arguments sent to it, and it never
touches the parent's database connection or anything else the parent goes on using: it runs one function on
what it was given, writes the result (or the error) to a temporary file and ends with `os._exit`, which runs
no clean-up of the parent's objects (a closed connection would close the parent's too).

A child that reads the database (`database=True`: other renderers rendered while the process reads the mail
accounts, `mailhosts.rendering.render_host`) sets the database connections it inherited aside without closing
them (closing would end the parent's session on the server) and opens its own, which it closes before it ends.
That needs a database a second connection sees as the parent does: not an in-memory SQLite database
(`forks_with_database`).

Where `fork` does not exist, or the work is too small to pay for a process (`MAILHOST_FORK_MIN_ROWS`), the
function simply runs in the calling process: the same result either way
(`tests/mailaccounts/test_forked_render.py`).
"""

import contextlib
import os
import pickle
import signal
import tempfile
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import connections

T = TypeVar("T")

# In a child that reads the database: the connections it inherited, kept referenced and never closed (their
# finalizer would end the parent's session), until `os._exit` ends the child without running any.
_inherited_connections: list[Any] = []


class ForkedCallFailed(RuntimeError):
    """The function raised in the child, or the child ended without an answer."""


def worth_forking(rows: int) -> bool:
    """Whether work on this many rows goes to a child process (a fork and the result's way back cost a
    few tens of milliseconds)."""
    return hasattr(os, "fork") and rows >= settings.MAILHOST_FORK_MIN_ROWS


def forks_with_database() -> bool:
    """Whether a forked child can open its own connections and see what the parent sees: not with an
    in-memory SQLite database (the fast tests' database), which a new connection would find empty, nor in
    a transaction, whose rows no other connection sees until it commits."""
    return hasattr(os, "fork") and not any(
        # SQLite's connections tell whether they are in memory; no other has the method
        connection.in_atomic_block or getattr(connection, "is_in_memory_db", bool)()
        for connection in connections.all()
    )


def _own_database_connections() -> None:
    """In a forked child: set the inherited connections aside, so that the first query opens a new one."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            _inherited_connections.append(connection.connection)
            connection.connection = None


class Beside(Generic[T]):
    """`function(*args)` running in a forked child: `result()` waits for it and returns its value or raises
    `ForkedCallFailed`. When `fork` is false (or no process can be made), `result()` runs it here instead,
    at the point where the caller asks for it, and raises what it raises. Used as a context manager, a child not
    asked for its result (the parent failed meanwhile) is stopped and reaped on the way out."""

    def __init__(self, function: Callable[..., T], *args: Any, fork: bool = True, database: bool = False):
        self.function, self.args, self.database = function, args, database
        self.pid = 0
        self.output: Any = None
        if fork:
            try:
                self.output = tempfile.TemporaryFile()
                self.pid = os.fork()
            except OSError:  # no process to be had (a limit, memory): the work is done here instead
                if self.output is not None:
                    self.output.close()
                self.output, self.pid = None, 0
            else:
                if self.pid == 0:
                    self._child(function, args)  # does not return

    def _child(self, function: Callable[..., T], args: tuple) -> None:
        # A service stop signals every process of the worker: the child finishes its short work and the
        # parent decides (a Celery worker's warm shutdown lets the apply end). SIGKILL still ends it.
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            signal.signal(number, signal.SIG_IGN)
        status = 0
        try:
            if self.database:
                _own_database_connections()
            answer: tuple[str, Any] = ("value", function(*args))
        except BaseException as error:  # noqa: BLE001 (everything goes back to the parent)
            answer, status = ("error", f"{type(error).__name__}: {error}"), 1
        if self.database:
            with contextlib.suppress(BaseException):
                connections.close_all()  # the child's own: the inherited ones were set aside
        try:
            pickle.dump(answer, self.output, protocol=pickle.HIGHEST_PROTOCOL)
            self.output.flush()
        except BaseException:  # noqa: BLE001
            status = 2
        os._exit(status)

    def result(self) -> T:
        if not self.pid:  # not forked: the work is done here, now, in the order the caller wrote it
            return self.function(*self.args)
        _pid, status = os.waitpid(self.pid, 0)
        self.pid = 0
        try:
            self.output.seek(0)
            answer = pickle.load(self.output)  # noqa: S301 (our own child wrote it, to a file only we hold)
        except Exception:  # nothing written (or half): a child killed meanwhile, reported by its status
            answer = None
        finally:
            self.output.close()
        if answer is None:
            raise ForkedCallFailed(f"the child process ended without an answer ({describe(status)})")
        kind, value = answer
        if kind == "error":
            raise ForkedCallFailed(value)
        return value

    def stop(self) -> None:
        """Stop and reap a child whose result is no longer wanted."""
        if not self.pid:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        self.pid = 0
        self.output.close()

    def __enter__(self) -> "Beside[T]":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


class GoAhead:
    """A yes or no that this process gives once and a function run by `Beside` waits for: a byte on a pipe.
    In a forked child, `wait` answers no when the parent ends without giving it (the child's copy of the
    writing end is closed first, so the pipe's end is seen). Unforked, the function runs after the answer
    was given (`Beside.result`), so `wait` returns at once. Used as a context manager, the pipe is closed on
    the way out."""

    def __init__(self) -> None:
        self.owner = os.getpid()
        self.read_end, self.write_end = os.pipe()

    def give(self, yes: bool = True) -> None:
        os.write(self.write_end, b"1" if yes else b"0")

    def wait(self) -> bool:
        if os.getpid() != self.owner and self.write_end >= 0:
            os.close(self.write_end)
            self.write_end = -1
        return os.read(self.read_end, 1) == b"1"

    def close(self) -> None:
        for fd in (self.read_end, self.write_end):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.read_end = self.write_end = -1

    def __enter__(self) -> "GoAhead":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
