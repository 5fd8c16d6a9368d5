"""Kernel tasks: event delivery."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from foodiefast import events


@shared_task(bind=True, autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=240, max_retries=8)
def dispatch_event_task(self, handler_path: str, type_name: str, payload: dict[str, Any]) -> None:
    """Deliver one announced event to one subscribed handler; retried with backoff.
    Handlers are idempotent, so a redelivery is harmless. Backoff stays below the
    broker's visibility timeout (a longer countdown would run twice on Redis)."""
    events.dispatch(handler_path, type_name, payload)
