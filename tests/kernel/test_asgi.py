"""The web entry routes by what settings register, by dotted path: stream routes
first, then edge handlers in order, then Django."""

from django.core.wsgi import get_wsgi_application

from foodiefast.asgi import entry
from tests.asgi_call import asgi_get

seen: list[str] = []


async def stream(scope, receive, send, *, order_id):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    await send({"type": "http.response.body", "body": f"data: {order_id}\n\n".encode()})


async def passes(scope, receive, send):
    seen.append(scope["path"])
    return False


async def answers_teapot(scope, receive, send):
    if scope["path"] != "/teapot":
        return False
    await send({"type": "http.response.start", "status": 418, "headers": []})
    await send({"type": "http.response.body", "body": b""})
    return True


def call(app, path: str) -> tuple[int, bytes]:
    answer = asgi_get(app, path)
    return answer.status, answer.body


def test_streams_then_edge_handlers_then_django(settings, db):
    settings.ASGI_STREAM_ROUTES = [(r"^/orders/(?P<order_id>\d+)/stream$", "tests.kernel.test_asgi.stream")]
    settings.ASGI_EDGE_HANDLERS = ["tests.kernel.test_asgi.passes", "tests.kernel.test_asgi.answers_teapot"]
    seen.clear()
    app = entry(get_wsgi_application(), threads=2)

    assert call(app, "/orders/42/stream") == (200, b"data: 42\n\n")
    assert call(app, "/teapot") == (418, b"")
    status, _ = call(app, "/version")  # Django: the HTTPS redirect, as for any API path
    assert status == 301
    assert seen == ["/teapot", "/version"]  # the stream never reached the edge handlers


def test_a_stopping_process_tells_who_registered_once(monkeypatch):
    from foodiefast import serving as asgi

    monkeypatch.setattr(asgi, "_draining", [False])
    monkeypatch.setattr(asgi, "_drain_callbacks", [])
    told = []
    asgi.on_drain(lambda: told.append("stream"))

    worker = asgi.Worker.__new__(asgi.Worker)  # gunicorn's worker, as far as SIGTERM goes
    worker.alive = True
    worker.handle_exit_signal()  # SIGTERM
    asgi.drain()  # lifespan.shutdown, later
    asgi.on_drain(lambda: told.append("late"))  # registered once stopping: told at once

    assert told == ["stream", "late"]
    assert asgi.draining()
    assert not worker.alive  # and gunicorn stops as it would
