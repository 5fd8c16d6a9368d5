"""Request id and the one access log line per request."""

from __future__ import annotations

import logging
import re
import time
import uuid

from foodiefast.logging import request_id_var

logger = logging.getLogger("foodiefast.request")

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class RequestIdMiddleware:
    """Takes ``X-Request-ID`` from the router when it is sane, else makes one; echoes it
    back and logs one line per request: method, path, status, duration, user id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            if not request.path.startswith("/health/"):
                user = getattr(request, "user", None)
                user_id = str(user.pk) if user is not None and getattr(user, "is_authenticated", False) else None
                logger.info(
                    "request",
                    extra={
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "user_id": user_id,
                    },
                )
            return response
        finally:
            request_id_var.reset(token)
