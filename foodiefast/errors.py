"""One error shape for the whole API: ``{"code": ..., "detail": ..., ...}``.

Services raise :class:`DomainError` subclasses (each app keeps its own in
``errors.py``); :func:`exception_handler` renders those, DRF's exceptions and
Django's 404/403 the same way, and the ``handler*`` views below do it for what
never reaches DRF (unknown URLs, uncaught exceptions); in the admin, a 403 or 404
is an admin page instead.

``detail`` is in the request's language (``Accept-Language``: French or English,
English when it names neither); ``code`` never changes. Messages are lazy
translations, rendered when the answer is.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response

from foodiefast.middleware import is_admin_request

logger = logging.getLogger("foodiefast.errors")


class DomainError(Exception):
    """A broken rule of the domain, with a stable machine-readable ``code``."""

    status_code: int = status.HTTP_409_CONFLICT
    code: str = "conflict"
    detail: str = _("The request conflicts with the current state.")

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        self.detail = detail or self.detail
        self.extra = extra
        self.headers = headers or {}
        super().__init__(self.detail)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": str(self.detail), **self.extra}


class InvalidInput(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    detail = _("The request is invalid.")

    def __init__(self, detail: str | None = None, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail, fields=fields or {})


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    detail = _("Not found.")


class InvalidTransition(DomainError):
    code = "invalid_transition"
    detail = _("This action is not possible in the current status.")


class ServiceUnavailable(DomainError):
    """A backing service the request cannot do without is unreachable (API.md: 503)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"
    detail = _("A service this request needs is unavailable; try again shortly.")
    retry_after_seconds = 3

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(self.retry_after_seconds)})


# The database unreachable, timed out (foodiefast.postgresql) or its breaker open.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def _as_unavailable(exc: Exception) -> ServiceUnavailable:
    """Logged by class only: the driver's message names hosts and ports."""
    logger.warning("database unavailable: 503", extra={"error": exc.__class__.__name__})
    return ServiceUnavailable()


def _unavailable_response(exc: Exception) -> JsonResponse:
    error = _as_unavailable(exc)
    return JsonResponse(error.as_dict(), status=error.status_code, headers=error.headers)


class ServiceUnavailableMiddleware:
    """Plain Django views (the admin) answer 503 as the API does when the database is
    unreachable; DRF views go through :func:`exception_handler`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> JsonResponse | None:
        return _unavailable_response(exception) if isinstance(exception, DATABASE_UNAVAILABLE) else None


_CODE_BY_EXCEPTION: list[tuple[type[Exception], str]] = [
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "not_authenticated"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
    (exceptions.ParseError, "invalid"),
    (exceptions.ValidationError, "invalid"),
]


def _flatten(detail: Any) -> Any:
    """DRF's ErrorDetail tree as plain lists of strings."""
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        if all(not isinstance(d, (dict, list)) for d in detail):
            return [str(d) for d in detail]
        return [_flatten(d) for d in detail]
    return [str(detail)]


def _first_message(fields: Any) -> str | None:
    if isinstance(fields, dict):
        for name, value in fields.items():
            message = _first_message(value)
            if message:
                return message if name == "non_field_errors" else f"{name}: {message}"
    if isinstance(fields, list):
        for value in fields:
            message = _first_message(value)
            if message:
                return message
    if isinstance(fields, str):
        return fields
    return None


def _flat_fields(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Nested errors (a list's items, a nested object) keyed by a dotted path
    (``allergens.1``), so ``fields`` is always ``{"<field>": ["<message>", ...]}``.
    An error about a nested field as a whole (an empty list) is keyed by that field
    (``items``), not by DRF's ``items.non_field_errors``."""
    if isinstance(detail, dict):
        items = detail.items()
    elif isinstance(detail, list) and any(isinstance(d, (dict, list)) for d in detail):
        items = enumerate(detail)
    else:
        return {prefix or "non_field_errors": _flatten(detail)} if detail not in ({}, [], "") else {}
    fields: dict[str, list[str]] = {}
    for key, value in items:
        whole = prefix and key == "non_field_errors"
        fields.update(_flat_fields(value, prefix if whole else f"{prefix}.{key}" if prefix else str(key)))
    return fields


def _validation_body(exc: exceptions.ValidationError) -> dict[str, Any]:
    fields = _flat_fields(exc.detail)
    return {"code": "invalid", "detail": _first_message(fields) or str(InvalidInput.detail), "fields": fields}


def _translated(exc: Exception) -> Exception:
    """Django's and the database's exceptions as the API's own."""
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return _as_unavailable(exc)
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error the API.md way."""
    exc = _translated(exc)
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code, headers=exc.headers)
    if not isinstance(exc, exceptions.APIException):
        return None  # an uncaught bug: Django's handler500 answers, and it is logged

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait)))

    if isinstance(exc, exceptions.ValidationError):
        body = _validation_body(exc)
    else:
        code = next((c for cls, c in _CODE_BY_EXCEPTION if isinstance(exc, cls)), "error")
        detail = exc.detail
        if isinstance(detail, dict):
            detail = detail.get("detail", next(iter(detail.values()), ""))
        if isinstance(detail, list):
            detail = detail[0] if detail else ""
        body = {"code": code, "detail": str(detail)}
        if code == "invalid":
            body["fields"] = {}
    status_code = exc.status_code
    if body["code"] == "not_authenticated":
        status_code = status.HTTP_401_UNAUTHORIZED
    return Response(body, status=status_code, headers=headers)


def _json_error(status_code: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"code": code, "detail": str(detail)}, status=status_code)


def _admin_error_page(request: HttpRequest, status_code: int, title: str, detail: str) -> HttpResponse:
    """An error in the admin as an admin page (its header, sidebar and language)."""
    from django.contrib import admin

    context = {**admin.site.each_context(request), "title": title, "detail": detail}
    response = TemplateResponse(request, "admin/error.html", context, status=status_code)
    return response.render()


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(400, "invalid", _("Bad request."))


PERMISSION_DENIED = _("You do not have permission to perform this action.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_admin_request(request):
        reason = str(exception or "") or _("Your account does not give access to this page.")
        return _admin_error_page(request, 403, _("Not allowed"), reason)
    return _json_error(403, "permission_denied", PERMISSION_DENIED)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_admin_request(request):
        return _admin_error_page(request, 404, _("Not found"), _("There is nothing at this address."))
    return _json_error(404, "not_found", NotFound.detail)


def server_error(request: HttpRequest) -> JsonResponse:
    # Raised outside a view (a middleware reading the session or the user): still a 503.
    if isinstance(sys.exception(), DATABASE_UNAVAILABLE):
        return _unavailable_response(sys.exception())
    return _json_error(500, "server_error", _("An unexpected error occurred; it has been logged."))
