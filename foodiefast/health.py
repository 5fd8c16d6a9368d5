"""Operations endpoints: liveness, readiness, version (no auth, no HTTPS redirect)."""

from __future__ import annotations

import logging
import subprocess
from functools import cache

from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes

logger = logging.getLogger("foodiefast.health")

_status_schema = inline_serializer("HealthStatus", {"status": serializers.CharField()})
_ready_schema = inline_serializer(
    "Readiness",
    {"status": serializers.ChoiceField(["ok", "degraded", "down"]), "checks": serializers.DictField()},
)


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
        connection.close_if_unusable_or_obsolete()
        return "down"


def _cache_check() -> str:
    if not settings.REDIS_URL:
        return "ok"  # local-memory cache: nothing to reach
    try:
        client = caches["default"].client.get_client(write=True)
        return "ok" if client.ping() else "down"
    except Exception:
        return "down"


def _broker_check() -> str:
    from celery import current_app as app

    if app.conf.task_always_eager:
        return "ok"  # tasks run in-process
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=1)
        return "ok"
    except Exception:
        return "down"


@extend_schema(responses={200: _status_schema}, tags=["operations"], summary="Liveness")
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def live(request):
    """The process can serve; touches no backing service."""
    return JsonResponse({"status": "ok"})


@never_cache
@extend_schema(responses={200: _ready_schema, 503: _ready_schema}, tags=["operations"], summary="Readiness")
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def ready(request):
    """Database reachable and migrated (else 503 ``down``); Redis reported, ``degraded``
    rather than fatal since browsing still works from PostgreSQL."""
    checks = {"database": _database_check(), "cache": _cache_check(), "broker": _broker_check()}
    if checks["database"] != "ok":
        status_word, code = "down", 503
    elif "down" in (checks["cache"], checks["broker"]):
        status_word, code = "degraded", 200
    else:
        status_word, code = "ok", 200
    return JsonResponse({"status": status_word, "checks": checks}, status=code)


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
