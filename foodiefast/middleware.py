"""Request id, the one access log line per request, CSRF for a browser on loopback,
and the platform's clock in the admin."""

from __future__ import annotations

import ipaddress
import itertools
import logging
import os
import re
import secrets
import time
from urllib.parse import urlsplit

from django.core.exceptions import DisallowedHost
from django.middleware import csrf
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from foodiefast.localtime import local_zone
from foodiefast.logging import direct_handlers, json_line, request_id_var, write_line
from foodiefast.metrics import name_route

logger = logging.getLogger("foodiefast.request")

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# A shared live link's token opens its page to anyone: logs show the path without it.
_SECRET_IN_PATH = re.compile(r"^/t/[^/]+")


class _RequestIds:
    """New request ids: 32 hex digits, a random prefix drawn once per process (again in
    a forked child) and a counter; unique like a UUID's hex, without reading the
    system's randomness for every request."""

    def __init__(self) -> None:
        self._start()
        os.register_at_fork(after_in_child=self._start)

    def _start(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.counter = itertools.count()

    def new(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


_request_ids = _RequestIds()


def request_id_from(incoming: str) -> str:
    """The router's ``X-Request-ID`` when it is sane, else a new one."""
    return incoming if incoming and _VALID_ID.match(incoming) else _request_ids.new()


def log_request(*, method: str, path: str, status: int, started: float, user_id: str | None = None) -> None:
    """The access log line (health probes are not logged); ``started`` is a
    ``time.perf_counter()`` reading. Whoever answers a request calls it once: this
    middleware for Django, an ASGI handler for what it serves itself."""
    if path.startswith("/health/") or not logger.isEnabledFor(logging.INFO):
        return
    if path.startswith("/t/"):
        path = _SECRET_IN_PATH.sub("/t/<token>", path)
    extra = {
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        "user_id": user_id,
    }
    handlers = direct_handlers(logger)
    if handlers is not None:
        # As deployed (JSON lines on stdout): the same line, written without a
        # LogRecord and the handlers' machinery; on the event loop, the lines of one
        # turn of the loop in one write (foodiefast/logging.py).
        write_line(handlers, json_line(name=logger.name, message="request", fields=extra, created=time.time()))
        return
    # logger.info() without looking up its caller in the stack (the line shows no
    # source location).
    logger.handle(logger.makeRecord(logger.name, logging.INFO, __file__, 0, "request", (), None, extra=extra))


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
            name_route(request)
            user = getattr(request, "user", None)
            user_id = str(user.pk) if user is not None and getattr(user, "is_authenticated", False) else None
            log_request(
                method=request.method, path=request.path, status=response.status_code, started=started, user_id=user_id
            )
            return response
        finally:
            request_id_var.reset(token)


def _is_loopback(hostname: str | None) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname or "").is_loopback
    except ValueError:
        return False


class CsrfViewMiddleware(csrf.CsrfViewMiddleware):
    """Django's CSRF protection, with one exception for a browser on the machine itself.

    Behind the router every request is https (``X-Forwarded-Proto``), so Django expects
    an ``https://`` Origin on a form post. A browser that talks to the process directly
    over loopback (a developer, an end-to-end test sending the router's header) sends
    ``http://127.0.0.1:<port>``, which would be refused. That origin is accepted when it
    is exactly the request's own host and that host is a loopback address: no other
    machine can put a page on a visitor's loopback, so nothing a remote attacker
    controls passes. Every other origin follows Django's rules and
    ``DJANGO_CSRF_TRUSTED_ORIGINS``."""

    def _origin_verified(self, request) -> bool:
        if super()._origin_verified(request):
            return True
        origin = urlsplit(request.META.get("HTTP_ORIGIN", ""))
        try:
            host = request.get_host()
        except DisallowedHost:
            return False
        return origin.scheme == "http" and _is_loopback(origin.hostname) and origin.netloc == host


def admin_prefix() -> str | None:
    """Where the admin is served (``/admin/``), or None without an admin."""
    try:
        return reverse("admin:index")
    except NoReverseMatch:
        return None


def is_admin_request(request) -> bool:
    prefix = admin_prefix()
    return bool(prefix and request.path.startswith(prefix))


class AdminLocalTimeMiddleware:
    """The admin shows and reads date-times on the platform's clock
    (``settings.LOCAL_TIME_ZONE``, Europe/Paris, like the opening hours), not UTC.
    Rows are stored in UTC all the same; the API keeps answering in UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_admin_request(request):
            return self.get_response(request)
        with timezone.override(local_zone()):  # pages (template responses too) render within
            return self.get_response(request)
