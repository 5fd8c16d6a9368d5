"""Requests to the browse edge and to Django, as the ASGI entry sees them."""

from __future__ import annotations

import asyncio

from apps.menus.browse.edge import serve_stored
from tests.factories.chefs import PARIS

QUERY = f"lat={PARIS[0]}&lng={PARIS[1]}"


def get(api, url: str, **headers):
    """Django's answer to a request carrying a Host header, as every real one does."""
    return api.get(url, HTTP_HOST="testserver", **headers)


def replay(path: str, query: str = QUERY, *, method: str = "GET", headers: dict[str, str] | None = None):
    """What the entry answers, as (status, headers, body); when it passes to Django,
    None, or the token of the claim to rebuild it gave that request."""
    given = {"host": "testserver", "x-forwarded-proto": "https", **(headers or {})}
    scope = {
        "type": "http",
        "method": method,
        "scheme": "http",
        "path": path,
        "query_string": query.encode(),
        "headers": [(k.encode(), v.encode()) for k, v in given.items() if v is not None],
    }
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    if not asyncio.run(serve_stored(scope, receive, send)):
        assert sent == []
        claims = [v.decode() for k, v in scope["headers"] if k == b"x-browse-refresh"]
        return claims[0] if claims else None
    start, body = sent
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body["body"]
