"""Stripe webhook events: stored once, processed by re-reading the intent."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.payments.gateways.base import WebhookEvent
from apps.payments.models import Payment, StripeEvent
from apps.payments.services.refunds import payment_sync_refunds
from apps.payments.services.status import payment_sync_from_provider

logger = logging.getLogger("apps.payments")

# Stripe events after which we also list the intent's refunds.
REFUND_EVENT_TYPES = frozenset({"charge.refunded", "charge.refund.updated", "refund.created", "refund.updated"})
# Stripe events whose intent we re-read; any other type is stored and ignored.
HANDLED_EVENT_TYPES = frozenset(
    {
        "payment_intent.amount_capturable_updated",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.requires_action",
        "payment_intent.processing",
        "charge.captured",
        "charge.failed",
        *REFUND_EVENT_TYPES,
    }
)


def _intent_id_of(event: WebhookEvent) -> str:
    obj = event.object
    if obj.get("object") == "payment_intent":
        return obj.get("id") or ""
    intent = obj.get("payment_intent")
    if isinstance(intent, dict):
        return intent.get("id") or ""
    return intent or ""


def _redacted(payload: dict) -> dict:
    """The event as stored: the intent's client secret is not kept a second time."""
    obj = (payload.get("data") or {}).get("object")
    if isinstance(obj, dict) and obj.get("client_secret"):
        obj["client_secret"] = "[redacted]"  # noqa: S105 - a placeholder, not a secret
    return payload


def stripe_event_record(*, event: WebhookEvent) -> tuple[StripeEvent, bool]:
    """Store a verified event once (unique on its Stripe id) and enqueue its
    processing after commit; ``(row, created)``. A duplicate, even a concurrent one,
    is found and nothing is enqueued again. A type we do not act on is stored as
    processed ("ignored")."""
    handled = event.type in HANDLED_EVENT_TYPES
    try:
        with transaction.atomic():
            row = StripeEvent.objects.create(
                stripe_id=event.id,
                type=event.type,
                payload=_redacted(event.payload),
                intent_id=_intent_id_of(event)[:255],
                processed_at=None if handled else timezone.now(),
                outcome="" if handled else "ignored: type not handled",
            )
            if handled:
                from apps.payments.tasks import process_stripe_event_task
                from foodiefast.tasks import delay_after_commit

                # With the broker away Stripe still gets its 200: the reconcile sweep
                # asks Stripe about the payment, whatever the event said.
                delay_after_commit(process_stripe_event_task, row.pk)
    except IntegrityError:
        return StripeEvent.objects.get(stripe_id=event.id), False
    return row, True


class PaymentNotYetRecorded(Exception):
    """An event came before our own start recorded its intent: retried later."""


def _process(row: StripeEvent) -> tuple[str, Payment | None]:
    if row.type not in HANDLED_EVENT_TYPES:
        return "ignored: type not handled", None
    payment = Payment.objects.filter(provider_intent_id=row.intent_id).first() if row.intent_id else None
    if payment is None:
        obj = (row.payload.get("data") or {}).get("object") or {}
        reference = (obj.get("metadata") or {}).get("reference")
        payment = Payment.objects.filter(reference=reference).first() if reference else None
        if payment is None:
            return "ignored: no payment for this intent", None
        if payment.provider_intent_id is None:
            raise PaymentNotYetRecorded(f"payment {payment.pk} has not recorded intent {row.intent_id} yet")
        if payment.provider_intent_id != row.intent_id:
            return "ignored: not the payment's intent", payment
    before = payment.status
    payment = payment_sync_from_provider(payment_id=payment.pk, source=f"webhook {row.stripe_id}")
    outcome = f"{before} -> {payment.status}" if payment.status != before else "no change"
    if row.type in REFUND_EVENT_TYPES:
        outcome += f", {len(payment_sync_refunds(payment_id=payment.pk))} refund(s) recorded"
    return outcome, payment


def stripe_event_process(*, event_pk: int, force: bool = False) -> str:
    """Process a stored event: find its payment and sync it from the provider (the
    event's own content is only a hint, so order and repetition do not matter).
    Counts the attempt; a failure is recorded (``error``) and re-raised for the
    task to retry with backoff. ``force`` re-runs an already processed event
    (``replay_stripe_event``). Returns the outcome."""
    row = StripeEvent.objects.filter(pk=event_pk).first()
    if row is None:
        return "missing"
    if row.processed_at is not None and not force:
        return row.outcome
    StripeEvent.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
    try:
        outcome, payment = _process(row)
    except Exception as exc:
        StripeEvent.objects.filter(pk=row.pk).update(error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    StripeEvent.objects.filter(pk=row.pk).update(
        processed_at=timezone.now(), outcome=outcome[:100], payment=payment, error=""
    )
    return outcome
