"""OpenAPI: the error responses every operation can give, documented once."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as _AutoSchema
from drf_spectacular.utils import inline_serializer
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


class AutoSchema(_AutoSchema):
    """Adds the API.md error responses an operation can give to its documented ones."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = {"429": Error}
        if self.method != "GET" or self._get_filter_parameters():
            errors["400"] = ValidationErrorBody
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            errors.update({"401": Error, "403": Error})
        if "{" in self.path:
            errors["404"] = Error
        for code, serializer in errors.items():
            responses.setdefault(code, self._get_response_for_code(serializer, code, direction=direction))
        return responses
