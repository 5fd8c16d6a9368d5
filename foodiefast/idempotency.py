"""Idempotent writes keyed by the client's ``Idempotency-Key`` or by our own ids.

The pattern: the row that a write creates carries the key under a unique constraint,
together with a fingerprint of the request. A replay (or a concurrent twin, which
waits on the unique index until the first commits) finds the existing row: the same
fingerprint returns it, another fingerprint is ``idempotency_key_reused``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from rest_framework import status

from foodiefast.errors import DomainError, InvalidInput

M = TypeVar("M", bound=models.Model)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "idempotency_key_reused"
    detail = "This Idempotency-Key was already used with a different request."


def idempotency_key_from(request) -> str:
    """The request's ``Idempotency-Key`` header; 400 ``invalid`` when missing or too long."""
    key = (request.headers.get(HEADER) or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"The {HEADER} header is required: a unique string of at most {MAX_KEY_LENGTH} characters.",
            fields={HEADER: ["This header is required."]},
        )
    return key


def fingerprint(payload: Any) -> str:
    """A stable digest of a JSON-like payload (key order does not matter)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def create_once(
    model: type[M],
    *,
    lookup: dict[str, Any],
    request_fingerprint: str,
    create: Callable[[], M],
    fingerprint_field: str = "request_fingerprint",
    looked_up: bool = False,
) -> tuple[M, bool]:
    """Run ``create()`` unless a row matching ``lookup`` exists; ``(row, created)``.

    ``create`` must insert the row carrying ``lookup`` and the fingerprint; it runs in
    a savepoint so that a concurrent twin's unique violation rolls back only its own
    work. Raises :class:`IdempotencyKeyReused` when the stored fingerprint differs.
    ``looked_up=True``: the caller has just found no such row, so the insert is tried
    at once (a twin that inserted meanwhile is still found through the violation).
    """
    existing = None if looked_up else model._default_manager.filter(**lookup).first()
    if existing is None:
        try:
            with transaction.atomic():
                return create(), True
        except IntegrityError:
            existing = model._default_manager.filter(**lookup).first()
            if existing is None:
                raise
    if getattr(existing, fingerprint_field) != request_fingerprint:
        raise IdempotencyKeyReused()
    return existing, False
