"""Lists: ``{"results", "next", "previous", "count"}``, one paging rule everywhere.

``?page=`` is a whole number from 1 (else 400 ``invalid``); a page past the last one
answers 404 ``not_found`` (page 1 of an empty list is an empty page). ``?page_size=``
is a whole number from 1 to 100 (else 400 ``invalid``).
"""

from __future__ import annotations

import re

from django.core.paginator import InvalidPage
from django.utils.translation import gettext_lazy as _
from rest_framework import pagination, serializers

from foodiefast.errors import InvalidInput, NotFound

NO_SUCH_PAGE = _("No such page.")

MAX_PAGE_SIZE = 100
# No list has this many pages: anything beyond is past the last one without asking.
MAX_PAGE = 1_000_000
_DIGITS = re.compile(r"[0-9]+")


def _whole_number(raw: str, *, cap: int) -> int | None:
    """``raw`` as a whole number (ASCII digits only), at most ``cap + 1``; None if it is not one."""
    if not _DIGITS.fullmatch(raw):
        return None
    digits = raw.lstrip("0") or "0"
    return cap + 1 if len(digits) > len(str(cap)) else min(int(digits), cap + 1)


def page_number_from(request) -> int:
    """The validated ``?page=``: 1 when absent, 400 ``invalid`` when not a whole number
    from 1, 404 ``not_found`` when it is beyond any list's last page."""
    raw = request.query_params.get("page")
    if raw in (None, ""):
        return 1
    page = _whole_number(raw, cap=MAX_PAGE)
    if page is None or page < 1:
        raise InvalidInput(_("page must be a whole number from 1."), fields={"page": [_("A whole number from 1.")]})
    if page > MAX_PAGE:
        raise NotFound(NO_SUCH_PAGE)
    return page


def page_size_from(request, *, default: int) -> int:
    """The validated ``?page_size=``: a whole number from 1 to 100, else 400 ``invalid``."""
    raw = request.query_params.get("page_size")
    if raw in (None, ""):
        return default
    size = _whole_number(raw, cap=MAX_PAGE_SIZE) or 0
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

    def paginate_queryset(self, queryset, request, view=None):
        number = page_number_from(request)
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        try:
            self.page = paginator.page(number)
        except InvalidPage as exc:
            raise NotFound(NO_SUCH_PAGE) from exc
        return list(self.page)


def page_schema(name: str, item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The documented shape of one page of ``item``: ``{count, next, previous, results}``."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )
