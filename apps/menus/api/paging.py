"""Paging of the browse lists: the page asked for, and links built from the
normalised filters."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from foodiefast.pagination import page_number_from, page_size_from

DEFAULT_PAGE_SIZE = 20


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
