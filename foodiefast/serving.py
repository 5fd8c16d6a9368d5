"""The web process's worker class and its drain hooks, kept apart from the ASGI entry:
gunicorn's master imports the worker class, and must not load the application's
modules (Django, metrics) before it forks its workers.

:class:`Worker` (the Procfile's ``-k``) is gunicorn's ASGI worker that, on SIGTERM,
first calls what registered with :func:`on_drain` (long-lived streams end at once,
with a ``retry:`` hint), then stops as gunicorn does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gunicorn.workers.gasgi import ASGIWorker

logger = logging.getLogger("foodiefast.asgi")

_drain_callbacks: list[Callable[[], None]] = []
_draining = [False]


def on_drain(callback: Callable[[], None]) -> None:
    """Call ``callback`` (on the event loop, once) when the process starts stopping;
    at once when it already has."""
    if _draining[0]:
        callback()
    else:
        _drain_callbacks.append(callback)


def draining() -> bool:
    return _draining[0]


def drain() -> None:
    """The process is stopping: tell whoever registered (long-lived streams)."""
    if _draining[0]:
        return
    _draining[0] = True
    callbacks, _drain_callbacks[:] = list(_drain_callbacks), []
    for callback in callbacks:
        try:
            callback()
        except Exception:  # one failing callback must not keep the others from stopping
            logger.exception("drain callback failed")


class Worker(ASGIWorker):
    """gunicorn's ASGI worker (``-k asgi``) that drains streams first on SIGTERM."""

    def handle_exit_signal(self) -> None:
        drain()
        super().handle_exit_signal()
