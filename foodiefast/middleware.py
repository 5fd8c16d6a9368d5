"""Request id and the one access log line per request."""

from __future__ import annotations

import logging
import re
import time
import uuid

from foodiefast.logging import request_id_var

logger = logging.getLogger("foodiefast.request")

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def request_id_from(incoming: str) -> str:
    """The router's ``X-Request-ID`` when it is sane, else a new one."""
    return incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex


def log_request(*, method: str, path: str, status: int, started: float, user_id: str | None = None) -> None:
    """The access log line (health probes are not logged); ``started`` is a
    ``time.perf_counter()`` reading. Whoever answers a request calls it once: this
    middleware for Django, an ASGI handler for what it serves itself."""
    if path.startswith("/health/"):
        return
    logger.info(
        "request",
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "user_id": user_id,
        },
    )


class RequestIdMiddleware:
    """Takes ``X-Request-ID`` from the router when it is sane, else makes one; echoes it
    back and logs one line per request: method, path, status, duration, user id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID", ""))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            user = getattr(request, "user", None)
            user_id = str(user.pk) if user is not None and getattr(user, "is_authenticated", False) else None
            log_request(
                method=request.method, path=request.path, status=response.status_code, started=started, user_id=user_id
            )
            return response
        finally:
            request_id_var.reset(token)
