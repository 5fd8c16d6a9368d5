"""The demo gateway: no network, no real money. The card is authorized at once.

It stands in for Stripe when ``PAYMENTS_DEMO`` is on (``make run`` without a Stripe
key, or ``bench/`` on purpose). The services treat its answers exactly like
Stripe's, so the same state changes and events happen. It keeps no state of its
own: what the "provider" knows is what our payment row says.
"""

from __future__ import annotations

from django.conf import settings

from apps.payments.gateways.base import (
    CANCELED,
    REQUIRES_CAPTURE,
    REQUIRES_PAYMENT_METHOD,
    SUCCEEDED,
    GatewayInvalidRequest,
    Intent,
    RefundResult,
)

_PROVIDER_STATUS = {
    "requires_payment": REQUIRES_PAYMENT_METHOD,
    "failed": REQUIRES_PAYMENT_METHOD,
    "authorized": REQUIRES_CAPTURE,
    "captured": SUCCEEDED,
    "canceled": CANCELED,
}


class DemoGateway:
    name = "demo"

    @property
    def publishable_key(self) -> str:
        return settings.STRIPE_PUBLISHABLE_KEY or "pk_demo"

    @staticmethod
    def _intent(payment_id: str, status: str, amount_cents: int, currency: str, reference: str = "") -> Intent:
        intent_id = f"pi_demo_{payment_id.replace('-', '')}"
        return Intent(
            id=intent_id,
            status=status,
            amount_cents=amount_cents,
            currency=currency,
            client_secret=f"{intent_id}_secret_demo",
            amount_received_cents=amount_cents if status == SUCCEEDED else 0,
            reference=reference,
        )

    def create_intent(self, *, payment_id: str, reference: str, amount_cents: int, currency: str) -> Intent:
        return self._intent(payment_id, REQUIRES_CAPTURE, amount_cents, currency, reference)

    def _payment(self, intent_id: str):
        from apps.payments.models import Payment

        payment = Payment.objects.filter(provider_intent_id=intent_id).first()
        if payment is None:
            raise GatewayInvalidRequest("No such payment intent.", code="resource_missing")
        return payment

    def retrieve_intent(self, intent_id: str) -> Intent:
        p = self._payment(intent_id)
        return self._intent(str(p.id), _PROVIDER_STATUS[p.status], p.amount_cents, p.currency, p.reference)

    def capture_intent(self, intent_id: str, *, payment_id: str) -> Intent:
        p = self._payment(intent_id)
        if p.status not in ("authorized", "captured"):
            raise GatewayInvalidRequest(
                "This payment intent cannot be captured.", code="payment_intent_unexpected_state"
            )
        return self._intent(str(p.id), SUCCEEDED, p.amount_cents, p.currency, p.reference)

    def cancel_intent(self, intent_id: str, *, payment_id: str) -> Intent:
        p = self._payment(intent_id)
        if p.status == "captured":
            raise GatewayInvalidRequest("A captured payment intent cannot be canceled.")
        return self._intent(str(p.id), CANCELED, p.amount_cents, p.currency, p.reference)

    def refund(self, intent_id: str, *, refund_id: str, amount_cents: int) -> RefundResult:
        self._payment(intent_id)
        return RefundResult(
            id=f"re_demo_{refund_id.replace('-', '')}",
            status="succeeded",
            amount_cents=amount_cents,
            our_refund_id=refund_id,
        )

    def list_refunds(self, intent_id: str) -> list[RefundResult]:
        return [
            RefundResult(id=r.provider_refund_id, status=r.status, amount_cents=r.amount_cents, our_refund_id=str(r.pk))
            for r in self._payment(intent_id).refunds.exclude(provider_refund_id=None)
        ]
