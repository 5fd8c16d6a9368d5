"""Cache-aside for browse answers (the hottest path at meal times).

Each answer is stored with the catalog version it was built under (a counter in
Redis, :mod:`foodiefast.cache`), under two keys:

- ``browse<format>:<kind>:a:<sha256 of scheme, host, path, raw query string>``: the
  whole answer as the client got it (headers and JSON body), with a hole where each
  dish's ``portions_left`` goes. A repeated request is answered from it without
  parsing or validating anything: by this view, and before Django by the ASGI entry
  (:mod:`apps.menus.api.browse_edge`). Only a 200 that Django produced for exactly
  that scheme, host, path and query is ever stored, so a request Django would refuse
  (a bad host, plain HTTP) never finds one.
- ``browse<format>:<kind>:n:<sha256 of host, path, rounded point (3 decimals,
  ~100 m), normalised filters, page, page_size>``: the payload, so nearby points and
  equivalent spellings of the same filters share one build.

A lookup is one Redis round trip (the version and the entry together). Anything that
changes what browsing shows (a dish, its availability, a kitchen, its hours, an
approval) bumps the version after commit; nothing is ever flushed. An answer is
fresh for ``settings.BROWSE_CACHE_SECONDS`` (which bounds how stale ``is_open`` can
be) under the current version; a stale one is rebuilt by the one request that claims
it, while the others get it as it was a moment ago (see :class:`BrowseCache`).

Stock (``portions_left``) changes with every order, so it never invalidates: the holes
are filled with live figures (:mod:`apps.menus.stock_cache`) on every answer.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

from apps.chefs.selectors import CATALOG_CACHE_NAMESPACE
from apps.menus.stock_cache import Stock, portions_live, stock_store
from foodiefast.cache import versioned_get, versioned_get_any, versioned_set
from foodiefast.pagination import page_number_from, page_size_from

DEFAULT_PAGE_SIZE = 20
# Part of every key: raise it when what is stored changes shape, so processes of the
# release still running and of the new one never read each other's entries.
FORMAT = 2
JSON = "application/json"
# How long past its freshness an answer is kept, to serve while one request rebuilds it.
BROWSE_STALE_SECONDS = 30
# How long a claim to rebuild one answer holds if its request dies on the way.
REFRESH_CLAIM_SECONDS = 5
# Sent by the ASGI entry with the token of the claim it made for this request.
REFRESH_HEADER = "X-Browse-Refresh"
# Headers never replayed from a stored answer: per request, or recomputed.
_NOT_STORED = frozenset({"content-length", "x-request-id", "date", "server"})


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def answer_key(kind: str, *, scheme: str, host: str, path: str, query: bytes) -> str:
    """The key of the whole answer to one exact request (shared with the ASGI entry)."""
    raw = b"\n".join([scheme.encode(), host.encode("latin-1", "replace"), path.encode(), query])
    return f"browse{FORMAT}:{kind}:a:{hashlib.sha256(raw).hexdigest()}"


def fill(parts: list[bytes], figures: Iterable[int]) -> bytes:
    """The body: ``parts`` with a stock figure in each hole between them."""
    out = [parts[0]]
    for figure, part in zip(figures, parts[1:], strict=True):
        out += (str(figure).encode(), part)
    return b"".join(out)


class StoredAnswer(NamedTuple):
    """A whole answer as the client got it: headers, the listed dishes, the body cut
    at each dish's stock, and until when it is fresh (epoch seconds)."""

    headers: list[tuple[bytes, bytes]]
    ids: list[str]
    parts: list[bytes]
    fresh_until: float


def is_fresh(answer: StoredAnswer, *, stored_version: int | None, version: int | None) -> bool:
    """Served as it is: built under the current catalog version and not past its
    freshness (shared with the ASGI entry)."""
    return version is not None and stored_version == version and time.time() < answer.fresh_until


def refresh_key(key: str) -> str:
    """Held by the one request that rebuilds a stale answer (shared with the ASGI entry)."""
    return f"{key}:refresh"


class BrowseCache:
    """The cache entries of one browse request.

    A stored answer is fresh for ``BROWSE_CACHE_SECONDS`` and under the current
    catalog version. Past that (time, or a catalog change) it is stale: one request
    claims the refresh and rebuilds while every other keeps getting the stale answer
    for that moment (stale-while-revalidate), so the end of a cache entry never sends
    every concurrent request to the database at once."""

    def __init__(self, request, kind: str) -> None:
        self.request = request
        self.kind = kind
        self.answer_key = answer_key(
            kind,
            scheme=request.scheme,
            host=request.get_host(),
            path=request.path,
            query=request.META.get("QUERY_STRING", "").encode("latin-1", "replace"),
        )
        self.version, (entry,) = versioned_get_any(CATALOG_CACHE_NAMESPACE, self.answer_key)
        self.answer_version, self.answer = entry if entry and isinstance(entry[1], StoredAnswer) else (None, None)
        self.normal_key: str | None = None
        self.fresh_until = time.time() + settings.BROWSE_CACHE_SECONDS
        self.refresh_claimed = False

    @property
    def answer_is_fresh(self) -> bool:
        return is_fresh(self.answer, stored_version=self.answer_version, version=self.version)

    def claim_refresh(self) -> bool:
        """True for the one request that rebuilds the stale answer: the one the ASGI
        entry sent with its claim's token, else whoever claims it first."""
        key = refresh_key(self.answer_key)
        token = self.request.headers.get(REFRESH_HEADER)
        if token and cache.get(key) == token:
            self.refresh_claimed = True
            return True
        self.refresh_claimed = cache.add(key, secrets.token_hex(16), timeout=REFRESH_CLAIM_SECONDS)
        return self.refresh_claimed

    def lookup_normalised(self, params: dict[str, Any], *extra: Any) -> Any:
        """The fresh payload stored for the normalised request, or None."""
        digest = _digest(self.request.get_host(), self.request.path, params, extra)
        self.normal_key = f"browse{FORMAT}:{self.kind}:n:{digest}"
        _, (entry,) = versioned_get(CATALOG_CACHE_NAMESPACE, self.normal_key)
        if entry is None or time.time() >= entry[1]:
            return None
        payload, self.fresh_until = entry  # an answer from it is fresh no longer than it
        return payload

    def store_normalised(self, payload: Any) -> None:
        if self.normal_key:
            versioned_set(
                [self.normal_key], self.version, (payload, self.fresh_until), timeout=settings.BROWSE_CACHE_SECONDS
            )

    def keep_answer(self, response, *, ids: list[str], parts: list[bytes]) -> None:
        """Store the answer as the client gets it (a final-response hook). Not a
        response that sets a cookie or varies with one. Kept past its freshness for
        ``BROWSE_STALE_SECONDS``, to serve while it is rebuilt."""
        if response.status_code != 200 or response.cookies or "cookie" in response.get("Vary", "").lower():
            self.release_refresh()
            return
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in response.items()
            if name.lower() not in _NOT_STORED
        ]
        answer = StoredAnswer(headers, ids, parts, self.fresh_until)
        versioned_set(
            [self.answer_key],
            self.version,
            answer,
            timeout=settings.BROWSE_CACHE_SECONDS + BROWSE_STALE_SECONDS,
        )
        self.release_refresh()

    def release_refresh(self) -> None:
        """Let the next request rebuild, if this one held the claim: at once, not
        when the claim runs out, also when the rebuild ended in an error."""
        if self.refresh_claimed:
            cache.delete(refresh_key(self.answer_key))
            self.refresh_claimed = False


Build = Callable[[BrowseCache], tuple[dict[str, Any], Stock | None]]


def respond(request, kind: str, build: Build, *, dishes_at: str | None = None) -> HttpResponse:
    """The browse answer to ``request``: the stored whole answer with live stock
    (stale only while another request rebuilds it), else ``build(cache)`` →
    ``(payload, stock)`` (``stock``: the dishes' figures when they were just read
    from PostgreSQL, else None), rendered once with a hole for each dish's stock under
    ``payload[dishes_at]`` and stored once the response is final."""
    cached = BrowseCache(request, kind)
    answer = cached.answer
    if answer is not None and (cached.answer_is_fresh or not cached.claim_refresh()):
        live = portions_live(dish_ids=answer.ids, version=cached.answer_version)
        return HttpResponse(fill(answer.parts, [live[i] for i in answer.ids]), content_type=JSON)

    try:
        payload, stock = build(cached)
    except Exception:  # e.g. the kitchen is gone (404): the next request tries again
        cached.release_refresh()
        raise
    dishes = payload[dishes_at] if dishes_at else []
    ids = [dish["id"] for dish in dishes]
    if stock:  # just read from PostgreSQL: store it, and show it
        stock_store(stock=stock, version=cached.version)
        live = {dish_id: figure for dish_id, (figure, _) in stock.items()}
    else:
        live = portions_live(dish_ids=ids, version=cached.version)
    hole = secrets.token_hex(16)
    template = {**payload, dishes_at: [{**dish, "portions_left": hole} for dish in dishes]} if dishes_at else payload
    parts = JSONRenderer().render(template).split(f'"{hole}"'.encode())
    response = HttpResponse(fill(parts, [live[i] for i in ids]), content_type=JSON)
    response.final_hooks = [partial(cached.keep_answer, ids=ids, parts=parts)]
    return response


def normalised(params: dict[str, Any]) -> dict[str, Any]:
    """Filters as a canonical, JSON-able dict: point rounded to 3 decimals, empty
    filters dropped, lists sorted, text trimmed and lower-cased."""
    out: dict[str, Any] = {}
    for name, raw in params.items():
        value = _canonical(name, raw)
        if value not in (None, "", []):
            out[name] = value
    return out


def _canonical(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in ("lat", "lng"):
        return round(float(value), 3)
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, (tuple, list)):
        return sorted(value)
    if isinstance(value, (bool, int, float)):
        return value
    return str(value)


def page_from(request) -> int:
    return page_number_from(request)


def paging(request) -> tuple[int, int]:
    return page_from(request), page_size_from(request, default=DEFAULT_PAGE_SIZE)


def page_links(request, params: dict[str, Any], *, page: int, page_size: int, count: int) -> tuple[str | None, ...]:
    """``next``/``previous`` built from the normalised filters, so any request that
    shares the cache entry gets links that are right for it."""

    def link(number: int) -> str:
        query = {k: (",".join(v) if isinstance(v, list) else v) for k, v in params.items()}
        query.update(page=number, page_size=page_size)
        query = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in query.items()}
        return request.build_absolute_uri(request.path) + "?" + urlencode(query)

    has_next = page * page_size < count
    return (link(page + 1) if has_next else None, link(page - 1) if page > 1 else None)
