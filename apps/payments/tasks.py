"""Payments' Celery tasks: thin, idempotent, fetch by id and call a service."""

from __future__ import annotations

import logging

from celery import shared_task

from apps.payments import services

logger = logging.getLogger("apps.payments")

MAX_EVENT_RETRIES = 8


@shared_task(bind=True, acks_late=True, max_retries=MAX_EVENT_RETRIES)
def process_stripe_event_task(self, event_pk: int) -> str:
    """Process one stored Stripe event (idempotent: a processed event is skipped).
    A failure is recorded on the event and retried with exponential backoff
    (5 s, 10 s, 20 s ... at most 4 minutes: a countdown stays below the broker's
    visibility timeout, or Redis would deliver the task twice)."""
    try:
        return services.stripe_event_process(event_pk=event_pk)
    except Exception as exc:
        if self.request.is_eager:
            # Embedded mode runs this inside the webhook request: Stripe must still get
            # its 200. The error is recorded on the event; reconcile or
            # replay_stripe_event picks it up.
            logger.exception("stripe event %s failed", event_pk)
            return "failed"
        countdown = min(5 * 2**self.request.retries, 240)
        logger.warning("stripe event %s failed, retry in %s s: %r", event_pk, countdown, exc)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task
def payments_reconcile_task() -> int:
    """Every minute (beat): sync payments whose webhook is late or lost."""
    return services.payment_reconcile()
