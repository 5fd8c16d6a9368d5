"""JSON in, and only JSON: every request body of the API is ``application/json``,
nested to a sane depth, and typed as the schema says.

- :class:`JsonBodyMiddleware` answers 415 ``unsupported_media_type`` to a body sent
  to ``/api/`` as anything else, a missing ``Content-Type`` included (DRF alone would
  read such a body as empty, or not look at it when the view reads no body).
- :class:`JSONParser` refuses JSON nested deeper than :data:`MAX_DEPTH` with 400
  ``invalid``, before any code walks it recursively.
- :class:`StrictInput` is the base of every input serializer: a JSON string is not a
  number, a number is not a boolean or a string. DRF's fields coerce (``"100"`` as an
  integer, ``0`` as false); the schema promises types, so the API keeps to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import JsonResponse
from django.utils.translation import gettext as _
from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError

JSON = "application/json"
# Far deeper than any document of the API, far below the interpreter's recursion limit.
MAX_DEPTH = 32


class JsonBodyMiddleware:
    """415 for a body sent to the API that is not declared ``application/json``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/") and _has_body(request.META) and _media_type(request.META) != JSON:
            return JsonResponse({"code": "unsupported_media_type", "detail": f"Send the body as {JSON}."}, status=415)
        return self.get_response(request)


def _has_body(meta: Mapping[str, Any]) -> bool:
    length = meta.get("CONTENT_LENGTH") or ""
    return (length.isdigit() and int(length) > 0) or "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()


def _media_type(meta: Mapping[str, Any]) -> str:
    return meta.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()


def _depth(document: Any) -> int:
    """How deeply arrays and objects nest in ``document`` (iteratively)."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, depth)
            stack.extend((item, depth + 1) for item in value)
    return deepest


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a bound on nesting (400 ``invalid``, never a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            document = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(_("JSON nested deeper than %(levels)d levels.") % {"levels": MAX_DEPTH}) from exc
        if _depth(document) > MAX_DEPTH:
            raise ParseError(_("JSON nested deeper than %(levels)d levels.") % {"levels": MAX_DEPTH})
        return document


def _type_error(field: serializers.Field, value: Any) -> str | None:
    """The message when ``value`` is not of the JSON type ``field`` takes, else None."""
    if value is None or isinstance(field, serializers.Serializer):
        return None  # null: the field's own allow_null rule; nested serializers check themselves
    if isinstance(field, serializers.BooleanField):
        ok = isinstance(value, bool)
    elif isinstance(field, serializers.IntegerField):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(field, (serializers.FloatField, serializers.DecimalField)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(field, serializers.ChoiceField):
        ok = not all(isinstance(choice, str) for choice in field.choices) or isinstance(value, str)
    elif isinstance(field, serializers.CharField):
        ok = isinstance(value, str)
    elif isinstance(field, serializers.ListField) and isinstance(value, list):
        return next((e for e in (_type_error(field.child, item) for item in value) if e), None)
    else:
        return None
    if ok:
        return None
    messages = field.error_messages
    return str(messages.get("invalid") or messages.get("invalid_choice", "Wrong type.")).format(input=value)


class StrictInput(serializers.Serializer):
    """An input serializer that takes each field only in its own JSON type."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = {
                name: [message]
                for name, field in self.fields.items()
                if not field.read_only and name in data and (message := _type_error(field, data[name]))
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
