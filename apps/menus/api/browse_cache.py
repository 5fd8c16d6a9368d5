"""Cache-aside for browse answers.

Key: ``browse:<kind>:v<catalog version>:<sha256 of host, rounded point (3 decimals,
~100 m), normalised filters, page, page_size>``. The catalog version (a counter in
Redis, :mod:`foodiefast.cache`) is bumped after any commit that changes what browsing
shows (a dish, its availability, a kitchen, its hours, an approval), so the next
request misses and rebuilds; the whole cache is never flushed. Entries also expire
after ``settings.BROWSE_CACHE_SECONDS`` (which bounds how stale ``is_open`` is).

Stock (``portions_left``) changes with every order, so it never invalidates:
a cached menu is served with live stock laid over it (one primary-key query).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache

from apps.chefs.selectors import CATALOG_CACHE_NAMESPACE
from apps.menus.selectors import portions_left_of
from foodiefast.cache import namespace_version
from foodiefast.errors import InvalidInput
from foodiefast.pagination import page_size_from

DEFAULT_PAGE_SIZE = 20


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


def cache_key(kind: str, request, params: dict[str, Any], *extra: Any) -> str:
    version = namespace_version(CATALOG_CACHE_NAMESPACE)
    raw = json.dumps([request.get_host(), params, *extra], sort_keys=True, default=str)
    return f"browse:{kind}:v{version}:{hashlib.sha256(raw.encode()).hexdigest()}"


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


def cache_get(key: str) -> Any:
    return cache.get(key)


def cache_set(key: str, payload: Any) -> None:
    cache.set(key, payload, timeout=settings.BROWSE_CACHE_SECONDS)


def overlay_stock(dishes: list[dict[str, Any]]) -> None:
    """Lay live ``portions_left`` over cached dish dicts (one indexed query)."""
    live = portions_left_of(dish_ids=[d["id"] for d in dishes])
    for dish in dishes:
        dish["portions_left"] = live.get(dish["id"], 0)
