"""The Stripe gateway: the only module that imports ``stripe``.

A client is built from the settings at call time (``STRIPE_SECRET_KEY``,
``STRIPE_API_BASE``: unset means real Stripe). It makes no automatic network retries:
a retried write is only safe with the idempotency key we derive from our own ids,
and the caller (a service, a Celery retry, the reconcile sweep) decides when to try
again. Answers come back as our dataclasses, failures as our error family.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import stripe
from django.conf import settings

from apps.payments.gateways.base import (
    SUCCEEDED,
    GatewayInvalidRequest,
    GatewayUnavailable,
    Intent,
    InvalidSignature,
    PaymentDeclined,
    RefundResult,
    WebhookEvent,
)

T = TypeVar("T")

CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 20


@functools.lru_cache(maxsize=4)
def _client_for(api_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS)),
    )


def _client() -> stripe.StripeClient:
    return _client_for(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE or "")


def _call(fn: Callable[[], T]) -> T:
    """Run one Stripe call, translating its errors into ours."""
    try:
        return fn()
    except stripe.CardError as exc:
        raise PaymentDeclined(exc.user_message or "The card was declined.", code=exc.code or "card_declined") from exc
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise GatewayUnavailable(type(exc).__name__, code=exc.code or "") from exc
    except stripe.StripeError as exc:
        if exc.http_status is None or exc.http_status >= 500:
            raise GatewayUnavailable(f"Stripe answered {exc.http_status}", code=exc.code or "") from exc
        raise GatewayInvalidRequest(
            exc.user_message or f"Stripe refused the request ({exc.http_status})", code=exc.code or ""
        ) from exc


def _intent(obj: Any) -> Intent:
    data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    status = data.get("status") or ""
    received = data.get("amount_received")
    if received is None:  # not every Stripe double reports it
        received = data.get("amount", 0) if status == SUCCEEDED else 0
    error = data.get("last_payment_error") or {}
    return Intent(
        id=data["id"],
        status=status,
        amount_cents=int(data.get("amount") or 0),
        currency=(data.get("currency") or "").upper(),
        client_secret=data.get("client_secret") or "",
        amount_received_cents=int(received or 0),
        failure_code=(error.get("decline_code") or error.get("code") or "")[:64],
        failure_message=(error.get("message") or "")[:255],
        reference=(data.get("metadata") or {}).get("reference", ""),
    )


class StripeGateway:
    name = "stripe"

    @property
    def publishable_key(self) -> str:
        return settings.STRIPE_PUBLISHABLE_KEY

    def create_intent(self, *, payment_id: str, reference: str, amount_cents: int, currency: str) -> Intent:
        params = {
            "amount": amount_cents,
            "currency": currency.lower(),
            "capture_method": "manual",
            "metadata": {"reference": reference, "payment_id": payment_id},
        }
        options = {"idempotency_key": f"payment-{payment_id}-create"}
        return _intent(_call(lambda: _client().v1.payment_intents.create(params=params, options=options)))

    def retrieve_intent(self, intent_id: str) -> Intent:
        return _intent(_call(lambda: _client().v1.payment_intents.retrieve(intent_id)))

    def capture_intent(self, intent_id: str, *, payment_id: str) -> Intent:
        options = {"idempotency_key": f"payment-{payment_id}-capture"}
        return _intent(_call(lambda: _client().v1.payment_intents.capture(intent_id, options=options)))

    def cancel_intent(self, intent_id: str, *, payment_id: str) -> Intent:
        options = {"idempotency_key": f"payment-{payment_id}-cancel"}
        return _intent(_call(lambda: _client().v1.payment_intents.cancel(intent_id, options=options)))

    def refund(self, intent_id: str, *, refund_id: str, amount_cents: int) -> RefundResult:
        params = {"payment_intent": intent_id, "amount": amount_cents, "metadata": {"refund_id": refund_id}}
        options = {"idempotency_key": f"refund-{refund_id}"}
        return _refund(_call(lambda: _client().v1.refunds.create(params=params, options=options)))

    def list_refunds(self, intent_id: str) -> list[RefundResult]:
        params = {"payment_intent": intent_id, "limit": 100}
        page = _call(lambda: _client().v1.refunds.list(params=params))
        return [_refund(refund) for refund in page.data]


def _refund(obj: Any) -> RefundResult:
    data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return RefundResult(
        id=data["id"],
        status=data.get("status") or "",
        amount_cents=int(data.get("amount") or 0),
        our_refund_id=(data.get("metadata") or {}).get("refund_id", ""),
    )


def parse_webhook(payload: bytes, header: str | None, *, secret: str, tolerance: int) -> WebhookEvent:
    """Verify ``Stripe-Signature`` on the raw body and return the event.

    Raises :class:`InvalidSignature` for a missing or malformed header, a signature
    that does not match, or a timestamp more than ``tolerance`` seconds old or ahead
    (stripe-python only refuses old ones), and ``ValueError`` for a signed body that
    is not an event.
    """
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature(str(exc).split(".")[0]) from exc
    timestamps = [int(part[2:]) for part in (header or "").split(",") if part.startswith("t=")]
    if not timestamps or timestamps[0] > time.time() + tolerance:
        raise InvalidSignature("Timestamp outside the tolerance zone")
    data = json.loads(payload)
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise ValueError("The body is not a Stripe event.")
    return WebhookEvent(id=data["id"], type=data["type"], payload=data)
