"""The one entry the web process serves.

Long-lived streams (the tracking SSE path, once it exists) are served by lean async
handlers registered in ``STREAM_ROUTES``; everything else goes to Django's WSGI app
through a2wsgi, which runs it in a bounded thread pool. Django's own async path costs
about 3x on synchronous DRF views; the bridge keeps most of WSGI's speed and the event
loop stays free to hold thousands of open streams.
"""

import os
import re

from a2wsgi import WSGIMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.wsgi import application as wsgi_application

# Threads per process for the WSGI part: each keeps one persistent DB connection.
WSGI_THREADS = int(os.environ.get("WEB_THREADS", "8"))

django_app = WSGIMiddleware(wsgi_application, workers=WSGI_THREADS)

# (compiled path pattern, async handler(scope, receive, send, **match groups))
STREAM_ROUTES: list[tuple[re.Pattern[str], object]] = []


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "http":
        for pattern, handler in STREAM_ROUTES:
            match = pattern.match(scope["path"])
            if match:
                return await handler(scope, receive, send, **match.groupdict())

    async def receive_awaitable():
        # Some servers hand a plain callable for `receive`; a2wsgi needs a coroutine.
        return await receive()

    return await django_app(scope, receive_awaitable, send)
