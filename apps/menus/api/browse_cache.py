"""Cache-aside for browse answers (the hottest path at meal times).

Each answer is stored with the catalog version it was built under (a counter in
Redis, :mod:`foodiefast.cache`), under two keys:

- ``browse:<kind>:q:<sha256 of host, path, the raw query string's sorted pairs>``: a
  repeated request finds its answer without parsing or validating anything (only a
  valid request ever stores one);
- ``browse:<kind>:n:<sha256 of host, path, rounded point (3 decimals, ~100 m),
  normalised filters, page, page_size>``: nearby points and equivalent spellings of
  the same filters share one answer.

A lookup is one Redis round trip (the version and the entry together); an entry
built under an older version is ignored. Anything that changes what browsing shows
(a dish, its availability, a kitchen, its hours, an approval) bumps the version
after commit, so the next request rebuilds; nothing is ever flushed. Entries also
expire after ``settings.BROWSE_CACHE_SECONDS`` (which bounds how stale ``is_open``
can be).

Stock (``portions_left``) changes with every order, so it never invalidates: a cached
answer is served with live stock laid over it (one primary-key query).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from apps.chefs.selectors import CATALOG_CACHE_NAMESPACE
from apps.menus.selectors import portions_left_of
from foodiefast.cache import versioned_get, versioned_set
from foodiefast.errors import InvalidInput
from foodiefast.pagination import page_size_from

DEFAULT_PAGE_SIZE = 20


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class BrowseCache:
    """The cache entries of one browse request."""

    def __init__(self, request, kind: str) -> None:
        self.request = request
        self.kind = kind
        raw = sorted((k, v) for k, values in request.GET.lists() for v in values)
        self.raw_key = f"browse:{kind}:q:{_digest(request.get_host(), request.path, raw)}"
        self.version, (self.payload,) = versioned_get(CATALOG_CACHE_NAMESPACE, self.raw_key)
        self.normal_key: str | None = None

    def lookup_normalised(self, params: dict[str, Any], *extra: Any) -> Any:
        """The answer stored for the normalised request (then also under the raw key)."""
        self.normal_key = f"browse:{self.kind}:n:{_digest(self.request.get_host(), self.request.path, params, extra)}"
        _, (payload,) = versioned_get(CATALOG_CACHE_NAMESPACE, self.normal_key)
        if payload is not None:
            self.store(payload)
        return payload

    def store(self, payload: Any) -> None:
        keys = [self.raw_key] + ([self.normal_key] if self.normal_key else [])
        versioned_set(keys, self.version, payload, timeout=settings.BROWSE_CACHE_SECONDS)


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
    raw = request.query_params.get("page")
    if raw in (None, ""):
        return 1
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidInput("page must be a whole number from 1.", fields={"page": ["A whole number from 1."]})
    return int(raw)


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


def overlay_stock(dishes: list[dict[str, Any]]) -> None:
    """Lay live ``portions_left`` over cached dish dicts (one indexed query)."""
    live = portions_left_of(dish_ids=[d["id"] for d in dishes])
    for dish in dishes:
        dish["portions_left"] = live.get(dish["id"], 0)
