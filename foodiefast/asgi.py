"""The web entry's machinery; ``config/asgi.py`` only wires it.

Long-lived streams (the tracking SSE path, once it exists) are served by lean async
handlers registered in ``ASGI_STREAM_ROUTES`` (path pattern, dotted path). Handlers in
``ASGI_EDGE_HANDLERS`` (dotted paths, tried in order, like ``MIDDLEWARE``) may answer
a request before Django, e.g. health probes or a browse answer Django stored a moment
ago, or pass. Everything else goes to Django's WSGI app through a2wsgi, which runs it
in a bounded thread pool. Django's own async path costs about 3x on synchronous DRF
views; the bridge keeps most of WSGI's speed and the event loop stays free to hold
thousands of open streams.

A stream route is ``async handler(scope, receive, send, **match groups)``; an edge
handler is ``async handler(scope, receive, send) -> bool``, True when it answered.

Every HTTP request is counted and timed here, whoever answers it, under the route
named in ``scope["foodiefast.route"]`` (by Django's middleware, an edge handler, or the
stream route's pattern; ``unmatched`` if none did): see :mod:`foodiefast.metrics`. An
open stream counts in ``foodiefast_open_streams`` while its handler runs.

An edge handler that read the request's body and then passes leaves it in
``scope[REPLAY_BODY]`` (Django reads it from there); one that wants to see Django's
answer leaves a callable in ``scope[WATCH_RESPONSE]``, called with the answer's
``http.response.start`` message.
Stopping: a server drains its connections before it sends ``lifespan.shutdown``
(gunicorn's ASGI worker waits up to ``--graceful-timeout`` for them), so a stream
open at SIGTERM would hold the process that long and then be cut. :class:`Worker`
(the Procfile's ``-k``) is gunicorn's ASGI worker that, on SIGTERM, first calls what
registered with :func:`on_drain` (streams end at once, with a ``retry:`` hint, and
clients reconnect to another process), then stops as gunicorn does. Under another
server ``lifespan.shutdown`` calls them, later but still.
"""

from __future__ import annotations

import gc
import logging
import re
import time
from collections.abc import Awaitable, Callable

from a2wsgi import WSGIMiddleware
from django.conf import settings
from django.utils.module_loading import import_string

from foodiefast import metrics
from foodiefast.serving import Worker, drain, draining, on_drain  # noqa: F401 - the drain hooks live there

REPLAY_BODY = "foodiefast.body"
WATCH_RESPONSE = "foodiefast.watch_response"
logger = logging.getLogger("foodiefast.asgi")

EdgeHandler = Callable[..., Awaitable[bool]]
StreamHandler = Callable[..., Awaitable[None]]


def stream_routes() -> list[tuple[re.Pattern[str], StreamHandler]]:
    return [(re.compile(pattern), import_string(path)) for pattern, path in settings.ASGI_STREAM_ROUTES]


def edge_handlers() -> list[EdgeHandler]:
    return [import_string(path) for path in settings.ASGI_EDGE_HANDLERS]


def entry(wsgi_application, *, threads: int):
    """The ASGI app of the web process: stream routes, edge handlers, then Django
    through a2wsgi in a pool of ``threads`` threads (each keeps one DB connection)."""
    routes = stream_routes()
    edge = edge_handlers()
    django_app = WSGIMiddleware(wsgi_application, workers=threads)

    async def to_django(scope, receive, send) -> None:
        replay = scope.pop(REPLAY_BODY, None)
        watch = scope.pop(WATCH_RESPONSE, None)

        async def receive_awaitable():
            # Some servers hand a plain callable for `receive`; a2wsgi needs a coroutine.
            nonlocal replay
            if replay is not None:
                body, replay = replay, None
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def send_watched(message):
            if message["type"] == "http.response.start":
                watch(message)
            await send(message)

        await django_app(scope, receive_awaitable, send_watched if watch else send)

    async def answer(scope, receive, send) -> str | None:
        """Serve one HTTP request; the route of a stream, else None."""
        for pattern, handler in routes:
            match = pattern.match(scope["path"])
            if match:
                scope[metrics.ROUTE_KEY] = pattern.pattern
                with metrics.stream_open():
                    await handler(scope, receive, send, **match.groupdict())
                return pattern.pattern
        for edge_answer in edge:
            if await edge_answer(scope, receive, send):
                return None
        await to_django(scope, receive, send)
        return None

    async def application(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    drain()
                    metrics.flush()  # the last requests' counts, before the process goes
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return await to_django(scope, receive, send)
        # Every request is counted here, whoever answers it (see foodiefast/metrics.py).
        started = time.perf_counter()
        status = 500  # what the server answers if nothing was sent

        async def send_counted(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        stream = None
        try:
            stream = await answer(scope, receive, send_counted)
        finally:
            metrics.request_observed(
                scope.get(metrics.ROUTE_KEY) or metrics.UNMATCHED,
                scope["method"],
                status,
                None if stream is not None else time.perf_counter() - started,
            )
        return None

    return application


def settle_the_heap() -> None:
    """Run in each web process once the app is loaded. What was loaded lives as long
    as the process: move it out of the collector's sight (``gc.freeze``), and collect
    the young generation less often. Measured with ``make bench``: the p99 at 64
    connections about halved, for both /health/live and browse."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
