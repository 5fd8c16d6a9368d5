"""OpenAPI: the error responses every operation can give, documented once.

Each operation gets the API.md errors that can happen to it, on top of the answers
its view declares: 400 ``invalid`` (a body, a malformed JSON document or a query
parameter), 401/403 (signed-in operations), 404 (an id in the path, a page past the
last), 415 (a body not sent as ``application/json``), 429 and 503 (with
``Retry-After``).
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as _AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny

Error = inline_serializer(
    "Error",
    {
        "code": serializers.CharField(help_text="Machine-readable error code; the app branches on it."),
        "detail": serializers.CharField(help_text="Human-readable explanation."),
    },
)
ValidationErrorBody = inline_serializer(
    "ValidationError",
    {
        "code": serializers.CharField(default="invalid"),
        "detail": serializers.CharField(),
        "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
    },
)
# The paging parameters of every list (foodiefast.pagination).
PAGING = [
    OpenApiParameter("page", {"type": "integer", "minimum": 1}, OpenApiParameter.QUERY, description="From 1"),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": 100},
        OpenApiParameter.QUERY,
        description="Up to 100 (default 20)",
    ),
]


def error_response(description: str) -> OpenApiResponse:
    """An operation's documented error: the error body, with what its codes mean."""
    return OpenApiResponse(Error, description=description)


RETRY_AFTER = {
    "Retry-After": {"schema": {"type": "integer", "minimum": 1}, "description": "Seconds to wait before trying again."}
}
DESCRIPTIONS = {
    "400": "`invalid`: the body, a JSON document or a query parameter is not as documented (`fields` says which).",
    "401": "`not_authenticated`: a missing, malformed, tampered, expired or revoked token.",
    "403": "`permission_denied`: the caller's role may not use this operation.",
    "404": "`not_found`: no such object (or not the caller's), or a page past the last one.",
    "415": "`unsupported_media_type`: a body sent as anything but `application/json`.",
    "429": "`throttled`: too many requests; `Retry-After` says when to try again.",
    "503": "`service_unavailable`: a backing service is unreachable; nothing changed, send it again after "
    "`Retry-After`.",
}


class AutoSchema(_AutoSchema):
    """Adds the API.md error responses an operation can give to its documented ones."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        takes_body = self._get_request_body() is not None
        query = {p["name"] for p in self._get_parameters() if p.get("in") == "query"}
        errors = {"429": Error, "503": Error}
        if takes_body or query:
            errors["400"] = ValidationErrorBody
        if takes_body:
            errors["415"] = Error
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            errors.update({"401": Error, "403": Error})
        if "{" in self.path or "page" in query:
            errors["404"] = Error
        for code, serializer in errors.items():
            if code not in responses:
                response = self._get_response_for_code(serializer, code, direction=direction)
                response["description"] = DESCRIPTIONS[code]
                if code in ("429", "503"):
                    response["headers"] = RETRY_AFTER
                responses[code] = response
        return responses
