"""Stores a browse answer once it is final: the answer the client gets, headers and all."""

from __future__ import annotations


class BrowseAnswerMiddleware:
    """Calls the ``browse_keep(response)`` that :func:`~.answers.respond` put on a
    response it built, once every inner middleware has run, so what is stored (and
    replayed by the ASGI entry) carries the headers the client gets: all but
    ``X-Request-ID``, which is per request, and ``X-Cache``. Sits just inside the
    request-id middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        keep = getattr(response, "browse_keep", None)
        if keep is not None:
            keep(response)
        return response
