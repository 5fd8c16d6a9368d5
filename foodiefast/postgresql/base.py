"""Django's PostgreSQL backend, bounded in time for the web process.

A frozen server (SIGSTOP, a hung host) keeps its connections open and the kernel still
acknowledges every packet, so neither TCP keepalives nor the server's own
``statement_timeout`` end a wait on it: only the client can. Once the web entry calls
:func:`enforce_query_deadline` (``config/wsgi.py`` does), every round trip of a
connection waits at most ``DATABASE_QUERY_DEADLINE_SECONDS``; then the connection is
closed, which makes the server roll the open transaction back as soon as it runs again,
and :class:`DatabaseUnavailable` (an ``OperationalError``, which the API answers as 503
``service_unavailable``) is raised. The server also gets a ``statement_timeout`` a
little under the deadline, so a merely slow query is cancelled by the server itself.

A small breaker then fails fast: for ``BREAKER_SECONDS`` after a timeout or a failed
connection attempt, no thread of the process tries the database (each answers 503 at
once); then one request probes it, and a connection that opens closes the breaker. A
kept-open connection's health check (``CONN_HEALTH_CHECKS``) is bounded too, more
tightly, so a request on a kept-open connection ends as soon as one on a new one.

Management commands, the worker and tests never call :func:`enforce_query_deadline`:
a migration or a long task is not cut (their own time limits bound them), and this
backend behaves exactly as Django's.

Caveat of any client-side deadline: a ``COMMIT`` sent just before the server froze
may still be applied when it resumes although the request answered 503; writes that
move money carry an ``Idempotency-Key``, so the client's retry finds what was done.
"""

from __future__ import annotations

import threading
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base as postgresql
from psycopg import errors as pg_errors

# After a failure, how long the process answers 503 before one request probes again.
BREAKER_SECONDS = 2.0
# A kept-open connection's health check (SELECT 1) gets at most this long.
HEALTH_CHECK_SECONDS = 1.0
# The server cancels a statement after this share of the client's deadline.
STATEMENT_TIMEOUT_SHARE = 0.8


class DatabaseUnavailable(psycopg.OperationalError):
    """The database did not answer in time, or the breaker is open after a failure."""


class _Deadline:
    """The process-wide budget of one round trip; None: unbounded (Django's behaviour)."""

    seconds: float | None = None


def enforce_query_deadline(seconds: float | None = None) -> None:
    """Bound every database round trip of this process (the web entry calls it once);
    ``seconds`` defaults to ``DATABASE_QUERY_DEADLINE_SECONDS`` (0 turns it off)."""
    budget = settings.DATABASE_QUERY_DEADLINE_SECONDS if seconds is None else seconds
    _Deadline.seconds = float(budget) if budget and budget > 0 else None
    breaker.reset()


class Breaker:
    """Closed, open for ``cooldown`` seconds after a failure, then half-open: one caller
    probes (its connection attempt), the others keep failing fast until it is done."""

    def __init__(self, cooldown: float) -> None:
        self.cooldown = cooldown
        self._lock = threading.Lock()
        self._open_until: float | None = None
        self._probing = False

    def is_open(self) -> bool:
        with self._lock:
            return self._open_until is not None and (time.monotonic() < self._open_until or self._probing)

    def before_connect(self) -> None:
        """Raise :class:`DatabaseUnavailable` while open; let one caller probe once it cools down."""
        with self._lock:
            if self._open_until is None:
                return
            if time.monotonic() < self._open_until or self._probing:
                raise DatabaseUnavailable("the database was unreachable a moment ago")
            self._probing = True

    def trip(self) -> None:
        with self._lock:
            self._open_until = time.monotonic() + self.cooldown
            self._probing = False

    def reset(self) -> None:
        with self._lock:
            self._open_until = None
            self._probing = False


breaker = Breaker(BREAKER_SECONDS)


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection whose waits for the server end at its ``deadline``."""

    deadline: float | None = None

    def wait(self, gen, interval=0.1, timeout=None):
        # psycopg runs every exchange with the server (execute, fetch, commit,
        # rollback) as a generator that this method drives: bounding it here bounds all.
        if timeout is not None or self.deadline is None:
            return super().wait(gen, interval=interval, timeout=timeout)
        try:
            return super().wait(gen, interval=interval, timeout=self.deadline)
        except pg_errors._WaitTimeout:  # psycopg's own "wait timeout expired"
            self.close()  # the server rolls back what this connection left open
            breaker.trip()
            raise DatabaseUnavailable(f"the database did not answer within {self.deadline:g} s") from None

    @contextmanager
    def deadline_at_most(self, seconds: float) -> Iterator[None]:
        previous = self.deadline
        self.deadline = min(seconds, previous) if previous is not None else None
        try:
            yield
        finally:
            self.deadline = previous


class _Psycopg(types.ModuleType):
    """psycopg as Django's backend sees it (``DatabaseWrapper.Database``), whose
    ``connect`` makes :class:`DeadlineConnection` instances."""

    def __getattr__(self, name: str):
        return getattr(psycopg, name)

    @staticmethod
    def connect(*args, **kwargs) -> DeadlineConnection:
        return DeadlineConnection.connect(*args, **kwargs)


class DatabaseWrapper(postgresql.DatabaseWrapper):
    Database = _Psycopg("psycopg")

    def get_connection_params(self):
        params = super().get_connection_params()
        if _Deadline.seconds is not None:
            statement_ms = max(100, int(_Deadline.seconds * STATEMENT_TIMEOUT_SHARE * 1000))
            params["options"] = f"{params.get('options', '')} -c statement_timeout={statement_ms}".strip()
        return params

    def get_new_connection(self, conn_params):
        if _Deadline.seconds is None:
            return super().get_new_connection(conn_params)
        breaker.before_connect()
        try:
            connection = super().get_new_connection(conn_params)
        except BaseException:
            breaker.trip()
            raise
        breaker.reset()
        connection.deadline = _Deadline.seconds
        return connection

    def is_usable(self):
        if self.connection is None or _Deadline.seconds is None:
            return super().is_usable()
        if breaker.is_open():
            return False  # another thread just found the database unreachable
        with self.connection.deadline_at_most(HEALTH_CHECK_SECONDS):
            return super().is_usable()
