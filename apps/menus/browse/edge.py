"""Stored browse answers replayed by the ASGI entry, before Django.

Browsing is the hottest path at meal times and most requests repeat one a moment
ago. :mod:`.answers` stores each answer Django gave (headers, body with holes for
stock) under a key of the exact request; here, on the event loop, a repeated GET is
answered from Redis in two round trips (catalog version + answer, then the live stock
of the listed dishes), with no thread hop, middleware, view or database query. It is
a cache in front of the application, like a CDN's, that knows how to fill in live
stock. Keys, freshness, the refresh claim and the stock read are the rules of
:mod:`.rules`, the same as the view's.

Anything it cannot answer exactly as Django would goes on to Django: another method,
a client that does not accept JSON, an answer that is missing or of an older catalog
version, a stock figure that is missing (Django reads it from PostgreSQL and stores
it), Redis slow, frozen or down (the client's timeouts, :mod:`.clients`). It replays
only what Django produced for the same scheme, host, path and query string, so host
validation, the HTTPS redirect and the error responses stay Django's.
"""

from __future__ import annotations

import re
import time
from typing import NamedTuple

from django.conf import settings

from apps.menus.browse import rules
from apps.menus.browse.clients import UNAVAILABLE, async_client, unavailable
from foodiefast.localtime import local_today
from foodiefast.logging import request_id_var
from foodiefast.metrics import ROUTE_KEY
from foodiefast.middleware import log_request, request_id_from

# The browse paths and the kind of answer each stores (apps/menus/api/views.py).
ROUTES = [
    (re.compile(r"^/api/v1/dishes$"), "dishes"),
    (re.compile(r"^/api/v1/chefs$"), "chefs"),
    (re.compile(r"^/api/v1/chefs/[0-9a-fA-F-]{32,36}$"), "chef"),
]
_JSON_RANGES = (b"application/json", b"application/*", b"*/*")


# The URL pattern of each kind (config/urls.py), the route label of its answers.
ROUTE_OF_KIND = {"dishes": "/api/v1/dishes", "chefs": "/api/v1/chefs", "chef": "/api/v1/chefs/<uuid:chef_id>"}


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
    client = async_client()
    if client is None:
        return None
    found = rules.found(*await client.mget([rules.catalog_version_key(), key]))
    answer = found.answer
    if answer is None:
        return None
    if not found.fresh:
        claim = rules.claim_for(key)
        if await client.set(claim.key, claim.token, nx=True, px=claim.px):
            return _Refresh(claim.token)
    state = b"hit" if found.fresh else b"stale"
    if not answer.ids:
        return _Found(answer.headers, answer.parts[0], state)
    raws = await client.mget(rules.stock_keys(found.stored_version, local_today(), answer.ids))
    live = rules.figures(answer.ids, raws)
    if len(live) < len(set(answer.ids)):
        return None
    return _Found(answer.headers, rules.fill(answer.parts, [live[i] for i in answer.ids]), state)


def _request_key(scope, headers: dict[bytes, bytes]) -> str | None:
    """The stored answer's key for a request the entry may answer, else None."""
    kind = _kind(scope["path"])
    host = headers.get(b"host")
    if scope["method"] != "GET" or kind is None or not host or not _accepts_json(headers.get(b"accept")):
        return None
    return rules.answer_key(
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
    except UNAVAILABLE as exc:
        unavailable(exc, what="browse edge")
        return False
    if found is None:
        return False
    if isinstance(found, _Refresh):  # this request rebuilds the answer: Django, with the claim
        name = rules.REFRESH_HEADER.lower().encode()
        scope["headers"] = [*(h for h in scope["headers"] if h[0] != name), (name, found.token.encode())]
        return False
    request_id = request_id_from(headers.get(b"x-request-id", b"").decode("latin-1"))
    scope[ROUTE_KEY] = ROUTE_OF_KIND[_kind(scope["path"])]
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
