"""Operations endpoints: liveness, readiness, version (no auth, no HTTPS redirect).

No probe may hold a web thread for long, whatever a backing service does: the ASGI
entry answers ``/health/live`` and ``/health/ready`` itself (:func:`serve_probe`, in
``ASGI_EDGE_HANDLERS``), never waiting for the WSGI thread pool. The readiness checks
run on threads of their own, concurrently, each bounded by its own timeout; one run at
a time per process, and its answer is reused for ``READY_REUSE_SECONDS``, so twenty
probes in flight against a frozen Redis cost one run of the checks. The Django views
below give the same answers (the schema documents them; tests call them).
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes

from foodiefast.metrics import ROUTE_KEY, bounded_redis

logger = logging.getLogger("foodiefast.health")

_status_schema = inline_serializer("HealthStatus", {"status": serializers.CharField()})
_ready_schema = inline_serializer(
    "Readiness",
    {"status": serializers.ChoiceField(["ok", "degraded", "down"]), "checks": serializers.DictField()},
)

# How long one run of the readiness checks answers every probe.
READY_REUSE_SECONDS = 1.0
LIVE = (200, {"status": "ok"})
NEVER_CACHE = b"max-age=0, no-cache, no-store, must-revalidate, private"  # as never_cache sets it


def _database_check() -> str:
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            return "migrations_pending"
        return "ok"
    except Exception as exc:  # any failure to reach the database means "down"
        logger.warning("readiness: database unreachable", extra={"error": exc.__class__.__name__})
        return "down"
    finally:
        connection.close()  # a probe thread holds no connection between runs


def _redis_ping(url: str) -> str:
    """A fresh client with its own timeouts and no retry: the check never hangs."""
    client = bounded_redis(url)
    try:
        return "ok" if client.ping() else "down"
    except (redis.RedisError, OSError):
        return "down"
    finally:
        client.close()


def _cache_check() -> str:
    if not settings.REDIS_URL:
        return "ok"  # local-memory cache: nothing to reach
    return _redis_ping(settings.CACHES["default"]["LOCATION"])


def _broker_check() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "ok"  # tasks run in-process
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return "ok"  # an in-memory transport: nothing to reach
    return _redis_ping(url)


CHECKS = {"database": _database_check, "cache": _cache_check, "broker": _broker_check}


def _verdict(checks: dict[str, str]) -> tuple[int, dict]:
    if checks["database"] != "ok":
        status_word, code = "down", 503
    elif "down" in (checks["cache"], checks["broker"]):
        status_word, code = "degraded", 200
    else:
        status_word, code = "ok", 200
    return code, {"status": status_word, "checks": checks}


class _Readiness:
    """One run of the checks at a time, its answer reused for a moment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readiness")
        self._running: Future | None = None
        self._answer: tuple[int, dict] | None = None
        self._answered_at = 0.0

    def answer(self) -> Future:
        """A future of (status code, body): the recent answer, the run in progress or a new run."""
        with self._lock:
            if self._answer is not None and time.monotonic() - self._answered_at < READY_REUSE_SECONDS:
                done: Future = Future()
                done.set_result(self._answer)
                return done
            if self._running is not None:
                return self._running
            combined = self._running = Future()
        self._start(combined)  # outside the lock: a check done at once calls back here
        return combined

    def _start(self, combined: Future) -> None:
        results: dict[str, str] = {}

        def finished(name: str, future: Future) -> None:
            try:
                outcome = future.result()
            except Exception:  # a check that raised is a check that failed
                outcome = "down"
            with self._lock:
                results[name] = outcome
                if len(results) < len(CHECKS):
                    return
                answer = self._answer = _verdict({n: results[n] for n in CHECKS})
                self._answered_at = time.monotonic()
                self._running = None
            combined.set_result(answer)

        for name, check in CHECKS.items():
            self._pool.submit(check).add_done_callback(lambda future, name=name: finished(name, future))


readiness = _Readiness()


def _json_start(code: int, body: dict, *extra: tuple[bytes, bytes]) -> tuple[dict, dict]:
    content = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode()), *extra]
    return (
        {"type": "http.response.start", "status": code, "headers": headers},
        {"type": "http.response.body", "body": content},
    )


async def serve_probe(scope, receive, send) -> bool:
    """The ASGI entry's answer to ``GET /health/live`` and ``/health/ready``."""
    if scope["method"] != "GET" or scope["path"] not in ("/health/live", "/health/ready"):
        return False
    scope[ROUTE_KEY] = scope["path"]  # the route is the path (foodiefast/metrics.py)
    if scope["path"] == "/health/live":
        messages = _json_start(*LIVE)
    else:
        code, body = await asyncio.wrap_future(readiness.answer())
        messages = _json_start(code, body, (b"cache-control", NEVER_CACHE))
    for message in messages:
        await send(message)
    return True


@extend_schema(responses={200: _status_schema}, tags=["operations"], summary="Liveness")
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def live(request):
    """The process can serve; touches no backing service."""
    code, body = LIVE
    return JsonResponse(body, status=code)


@never_cache
@extend_schema(responses={200: _ready_schema, 503: _ready_schema}, tags=["operations"], summary="Readiness")
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def ready(request):
    """Database reachable and migrated (else 503 ``down``); Redis reported, ``degraded``
    rather than fatal since browsing still works from PostgreSQL."""
    code, body = readiness.answer().result(timeout=10)
    return JsonResponse(body, status=code)


@cache
def release_version() -> str:
    if settings.RELEASE_VERSION:
        return settings.RELEASE_VERSION
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=2,
            check=True,
        )
        return out.stdout.strip() or "dev"
    except (OSError, subprocess.SubprocessError):
        return "dev"


@extend_schema(
    responses={200: inline_serializer("Version", {"version": serializers.CharField()})},
    tags=["operations"],
    summary="Release version",
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def version(request):
    return JsonResponse({"version": release_version()})
