"""Stored browse answers replayed by the ASGI entry, before Django.

Browsing is the hottest path at meal times and most requests repeat one a moment
ago. :mod:`apps.menus.api.browse_cache` stores each answer Django gave (headers, body
with holes for stock) under a key of the exact request; here, on the event loop, a
repeated GET is answered from Redis in two round trips (catalog version + answer,
then the live stock of the listed dishes), with no thread hop, middleware, view or
database query. It is a cache in front of the application, like a CDN's, that knows
how to fill in live stock.

Anything it cannot answer exactly as Django would goes on to Django: another method,
a client that does not accept JSON, an answer that is missing or of an older catalog
version, a stock figure that is missing (Django reads it from PostgreSQL and stores
it), Redis slow or down. It replays only what Django produced for the same scheme,
host, path and query string, so host validation, the HTTPS redirect and the error
responses stay Django's.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
import weakref
from typing import NamedTuple

import redis.asyncio as aioredis
from django.conf import settings
from django.core.cache import BaseCache, caches

from apps.chefs.selectors import CATALOG_CACHE_NAMESPACE
from apps.menus.api.browse_cache import (
    REFRESH_CLAIM_SECONDS,
    REFRESH_HEADER,
    StoredAnswer,
    answer_key,
    fill,
    is_fresh,
    refresh_key,
)
from apps.menus.stock_cache import figure_of, stock_key
from foodiefast.cache import version_key
from foodiefast.localtime import local_today
from foodiefast.logging import request_id_var
from foodiefast.middleware import log_request, request_id_from

logger = logging.getLogger("foodiefast.browse")

# The browse paths and the kind of answer each stores (apps/menus/api/views.py).
ROUTES = [
    (re.compile(r"^/api/v1/dishes$"), "dishes"),
    (re.compile(r"^/api/v1/chefs$"), "chefs"),
    (re.compile(r"^/api/v1/chefs/[0-9a-fA-F-]{32,36}$"), "chef"),
]
_JSON_RANGES = (b"application/json", b"application/*", b"*/*")
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple] = weakref.WeakKeyDictionary()


def _redis() -> tuple[aioredis.Redis, BaseCache]:
    """One async client (and connection pool) per event loop on the cache's Redis,
    with the cache backend that names keys and decodes values as Django stored them
    (made once: ``django.core.cache.cache`` would make one per request task)."""
    loop = asyncio.get_running_loop()
    found = _clients.get(loop)
    if found is None:
        options = settings.CACHES["default"].get("OPTIONS", {})
        client = aioredis.Redis.from_url(
            settings.CACHES["default"]["LOCATION"],
            socket_timeout=options.get("SOCKET_TIMEOUT", 0.5),
            socket_connect_timeout=options.get("SOCKET_CONNECT_TIMEOUT", 0.5),
        )
        found = _clients[loop] = (client, caches.create_connection("default"))
    return found


def _kind(path: str) -> str | None:
    for pattern, kind in ROUTES:
        if pattern.match(path):
            return kind
    return None


def _scheme(headers: dict[bytes, bytes], default: str) -> str:
    """The scheme as Django's ``request.scheme`` reads it (``SECURE_PROXY_SSL_HEADER``)."""
    if settings.SECURE_PROXY_SSL_HEADER:
        meta_name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        name = meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode()
        value = headers.get(name)
        if value is not None:
            return "https" if value.decode("latin-1").split(",", 1)[0].strip() == secure_value else "http"
    return default


def _accepts_json(accept: bytes | None) -> bool:
    return accept is None or any(media in accept for media in _JSON_RANGES)


class _Refresh(NamedTuple):
    token: str  # of the claim this request holds to rebuild the stale answer


class _Found(NamedTuple):
    headers: list[tuple[bytes, bytes]]
    body: bytes
    state: bytes  # X-Cache: hit, or stale while another request rebuilds it


async def _stored_answer(key: str) -> _Found | _Refresh | None:
    """The stored answer with live stock; a claim to rebuild it when it is stale and
    nobody else is; None when Django must answer."""
    client, cache = _redis()
    raw_version, raw_entry = await client.mget(
        cache.make_key(version_key(CATALOG_CACHE_NAMESPACE)), cache.make_key(key)
    )
    if raw_entry is None:
        return None
    stored_version, answer = cache.client.decode(raw_entry)
    if not isinstance(answer, StoredAnswer):
        return None
    fresh = is_fresh(answer, stored_version=stored_version, version=int(raw_version) if raw_version else None)
    if not fresh:
        token = secrets.token_hex(16)
        claimed = await client.set(
            cache.make_key(refresh_key(key)), cache.client.encode(token), nx=True, px=REFRESH_CLAIM_SECONDS * 1000
        )
        if claimed:
            return _Refresh(token)
    state = b"hit" if fresh else b"stale"
    if not answer.ids:
        return _Found(answer.headers, answer.parts[0], state)
    day = local_today()
    figures = await client.mget([cache.make_key(stock_key(stored_version, day, dish_id)) for dish_id in answer.ids])
    if None in figures:
        return None
    return _Found(answer.headers, fill(answer.parts, [figure_of(figure) for figure in figures]), state)


def _request_key(scope, headers: dict[bytes, bytes]) -> str | None:
    """The stored answer's key for a request the entry may answer, else None."""
    kind = _kind(scope["path"])
    host = headers.get(b"host")
    if scope["method"] != "GET" or kind is None or not host or not _accepts_json(headers.get(b"accept")):
        return None
    return answer_key(
        kind,
        scheme=_scheme(headers, scope.get("scheme", "http")),
        host=host.decode("latin-1"),
        path=scope["path"],
        query=scope["query_string"],
    )


async def serve_stored(scope, receive, send) -> bool:
    """Answer a repeated browse GET from Redis; False to leave it to Django."""
    started = time.perf_counter()
    headers = dict(scope["headers"])
    key = _request_key(scope, headers) if settings.REDIS_URL else None
    if key is None:
        return False
    try:
        found = await _stored_answer(key)
    except (TimeoutError, aioredis.RedisError, OSError) as exc:
        logger.warning("browse edge: redis unavailable, Django answers", extra={"error": exc.__class__.__name__})
        return False
    if found is None:
        return False
    if isinstance(found, _Refresh):  # this request rebuilds the answer: Django, with the claim
        name = REFRESH_HEADER.lower().encode()
        scope["headers"] = [*(h for h in scope["headers"] if h[0] != name), (name, found.token.encode())]
        return False
    request_id = request_id_from(headers.get(b"x-request-id", b"").decode("latin-1"))
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                *found.headers,
                (b"content-length", str(len(found.body)).encode()),
                (b"x-request-id", request_id.encode()),
                (b"x-cache", found.state),
            ],
        }
    )
    await send({"type": "http.response.body", "body": found.body})
    token = request_id_var.set(request_id)
    try:
        log_request(method="GET", path=scope["path"], status=200, started=started)
    finally:
        request_id_var.reset(token)
    return True
