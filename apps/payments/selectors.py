"""Reads of payments, shared by services, the admin and (later) the orders app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from apps.payments.errors import PaymentNotFound
from apps.payments.gateways import get_gateway
from apps.payments.models import PAYABLE_STATUSES, Payment, PaymentStatus, StripeEvent
from foodiefast.tally import tally_read

# The API contract names Stripe as the provider the app's SDK talks to; the demo
# gateway plays Stripe's part (``Payment.provider`` records which one really did).
CHECKOUT_PROVIDER = "stripe"


@dataclass(frozen=True)
class Checkout:
    """What the owner's app needs to confirm the payment with Stripe's SDK.

    ``client_secret`` is given only while the payment can still be paid."""

    payment_id: str
    reference: str
    status: str
    amount_cents: int
    currency: str
    provider: str
    payment_intent_id: str | None
    client_secret: str | None
    publishable_key: str

    def __repr__(self) -> str:  # never the client secret in logs or tracebacks
        return f"Checkout(payment_id={self.payment_id!r}, status={self.status!r})"

    def as_api(self) -> dict:
        """The ``payment`` object of API.md's order."""
        return {
            "provider": self.provider,
            "payment_intent_id": self.payment_intent_id,
            "client_secret": self.client_secret,
            "publishable_key": self.publishable_key,
        }


def payment_get(*, reference: str, for_update: bool = False) -> Payment:
    """The payment started for ``reference``; raises ``PaymentNotFound``."""
    qs = Payment.objects.select_for_update() if for_update else Payment.objects.all()
    payment = qs.filter(reference=reference).first()
    if payment is None:
        raise PaymentNotFound()
    return payment


def payment_checkout(payment: Payment) -> Checkout:
    """What the owner's app needs for ``payment`` (a replayed order, ``GET`` of the
    order, another card after a decline): the same intent and ``client_secret`` while
    the payment is payable, no secret once it is authorized, captured or dead."""
    payable = payment.is_payable and bool(payment.client_secret)
    return Checkout(
        payment_id=str(payment.pk),
        reference=payment.reference,
        status=payment.status,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        provider=CHECKOUT_PROVIDER,
        payment_intent_id=payment.provider_intent_id,
        client_secret=payment.client_secret if payable else None,
        publishable_key=get_gateway(payment.provider).publishable_key,
    )


def payment_checkouts_for(*, references: list[str]) -> dict[str, Checkout]:
    """The checkout of each of these references that has a payment, in one query
    (an order list shows each order's ``payment`` block)."""
    return {p.reference: payment_checkout(p) for p in Payment.objects.filter(reference__in=references)}


def payments_to_reconcile(*, created_before: datetime, created_after: datetime) -> QuerySet[Payment]:
    """Payments Stripe may know more about than we do: still waiting for the card
    (or declined) although created a while ago, or authorized after their reference
    died. Oldest first."""
    return (
        Payment.objects.filter(
            provider_intent_id__isnull=False, created_at__lte=created_before, created_at__gte=created_after
        )
        .filter(Q(status__in=PAYABLE_STATUSES) | Q(status=PaymentStatus.AUTHORIZED, cancel_requested_at__isnull=False))
        .order_by("created_at")
    )


# The shared tally counting declined payment attempts, by failure code (foodiefast.tally).
PAYMENT_FAILURES = "payment_failures"
# How many of the latest webhook events the lag reading looks at.
WEBHOOK_LAG_WINDOW = 200


def payment_failure_counts() -> dict[str, int]:
    """Declined payment attempts so far, by failure code."""
    return tally_read(PAYMENT_FAILURES)


@dataclass(frozen=True)
class WebhookLag:
    processed_seconds: float  # the longest wait, creation to processing, among the latest processed
    oldest_waiting_seconds: float  # how long the oldest unprocessed one has waited since its creation


def stripe_webhook_lag(*, now: datetime) -> WebhookLag:
    """How long Stripe events wait, from their creation at Stripe (the event's
    ``created``) to their processing here, over the latest ``WEBHOOK_LAG_WINDOW``
    events received (one indexed read of that many rows)."""
    rows = StripeEvent.objects.order_by("-id").values_list("payload__created", "processed_at")[:WEBHOOK_LAG_WINDOW]
    processed, waiting = 0.0, 0.0
    for created, processed_at in rows:
        if not isinstance(created, int | float):
            continue
        if processed_at is None:
            waiting = max(waiting, now.timestamp() - created)
        else:
            processed = max(processed, processed_at.timestamp() - created)
    return WebhookLag(processed_seconds=max(processed, 0.0), oldest_waiting_seconds=max(waiting, 0.0))
