"""Lists: ``{"results", "next", "previous", "count"}``, ``page_size`` up to 100."""

from __future__ import annotations

from rest_framework import pagination

from foodiefast.errors import InvalidInput

MAX_PAGE_SIZE = 100


def page_size_from(request, *, default: int) -> int:
    """The validated ``?page_size=``: a whole number from 1 to 100, else 400 ``invalid``."""
    raw = request.query_params.get("page_size")
    if raw in (None, ""):
        return default
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidInput(
            f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}.",
            fields={"page_size": [f"Ensure this value is between 1 and {MAX_PAGE_SIZE}."]},
        )
    return size


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        return page_size_from(request, default=self.page_size)
