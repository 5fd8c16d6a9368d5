"""The Stripe gateway's own promises: idempotency keys from our ids on every write, no
automatic retries, Stripe's answers in our types. localstripe ignores idempotency
keys and refuses a second confirm after a decline, so those are checked here at the
gateway boundary: the real HTTP requests are recorded on their way to localstripe,
and real Stripe's answers are replayed from recordings."""

from __future__ import annotations

import pytest
import stripe

from apps.payments import services
from apps.payments.gateways import stripe as stripe_gateway
from apps.payments.gateways.base import GatewayUnavailable
from apps.payments.models import Payment, PaymentStatus
from tests.payments.conftest import kinds, new_reference

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """Every request the Stripe library sends: (method, path, headers)."""
    requests_sent: list[tuple[str, str, dict]] = []
    original = stripe.RequestsClient.request

    def recording(self, method, url, headers, post_data=None):
        requests_sent.append((method.upper(), url.split("/v1/", 1)[-1], dict(headers or {})))
        return original(self, method, url, headers, post_data)

    monkeypatch.setattr(stripe.RequestsClient, "request", recording)
    stripe_gateway._client_for.cache_clear()
    yield requests_sent
    stripe_gateway._client_for.cache_clear()


def test_every_write_carries_an_idempotency_key_from_our_ids(stripe_double, sent):
    checkout = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")
    stripe_double.pay(checkout.payment_intent_id)
    services.payment_sync_from_provider(payment_id=checkout.payment_id)
    services.payment_capture(reference=checkout.reference)
    refund = services.payment_refund(reference=checkout.reference, amount_cents=500)
    other = services.payment_start(reference=new_reference(), amount_cents=900, currency="EUR")
    services.payment_cancel(reference=other.reference)

    writes = [(path, headers.get("Idempotency-Key")) for method, path, headers in sent if method == "POST"]
    pid, intent = checkout.payment_id, checkout.payment_intent_id
    assert writes == [
        ("payment_intents", f"payment-{pid}-create"),
        (f"payment_intents/{intent}/capture", f"payment-{pid}-capture"),
        ("refunds", f"refund-{refund.pk}"),
        ("payment_intents", f"payment-{other.payment_id}-create"),
        (f"payment_intents/{other.payment_intent_id}/cancel", f"payment-{other.payment_id}-cancel"),
    ]


def test_an_unreachable_stripe_is_tried_once_and_reported(localstripe, settings, sent):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    with pytest.raises(GatewayUnavailable):
        stripe_gateway.StripeGateway().retrieve_intent("pi_123")

    assert len(sent) == 1  # no automatic network retry


# Real Stripe's answers for one intent: declined, then confirmed again with another
# card (localstripe refuses that second confirm), then captured.
RECORDED = {
    "declined": {
        "id": "pi_3RecordedIntent",
        "object": "payment_intent",
        "amount": 2500,
        "amount_capturable": 0,
        "amount_received": 0,
        "capture_method": "manual",
        "client_secret": "pi_3RecordedIntent_secret_abc",
        "currency": "eur",
        "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds", "message": "Declined."},
        "metadata": {},
        "status": "requires_payment_method",
    },
    "authorized": {
        "id": "pi_3RecordedIntent",
        "object": "payment_intent",
        "amount": 2500,
        "amount_capturable": 2500,
        "amount_received": 0,
        "capture_method": "manual",
        "client_secret": "pi_3RecordedIntent_secret_abc",
        "currency": "eur",
        "last_payment_error": None,
        "metadata": {},
        "status": "requires_capture",
    },
}


def test_a_second_card_after_a_decline_authorizes_the_same_payment(
    localstripe, monkeypatch, announced, django_capture_on_commit_callbacks
):
    payment = Payment.objects.create(
        reference=new_reference(),
        request_fingerprint="x",
        amount_cents=2500,
        currency="EUR",
        provider="stripe",
        provider_intent_id="pi_3RecordedIntent",
        client_secret="pi_3RecordedIntent_secret_abc",
    )
    answers = iter([RECORDED["declined"], RECORDED["authorized"]])
    monkeypatch.setattr(
        stripe_gateway.StripeGateway,
        "retrieve_intent",
        lambda self, intent_id: stripe_gateway._intent(stripe.PaymentIntent.construct_from(next(answers), "sk_test")),
    )

    with django_capture_on_commit_callbacks(execute=True):
        declined = services.payment_sync_from_provider(payment_id=payment.pk)
        assert (declined.status, declined.failure_code, declined.is_payable) == ("failed", "insufficient_funds", True)
        authorized = services.payment_sync_from_provider(payment_id=payment.pk)

    assert authorized.status == PaymentStatus.AUTHORIZED
    assert kinds(announced) == ["PaymentFailed", "PaymentAuthorized"]


def test_the_client_secret_stays_out_of_reprs(stripe_double):
    checkout = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")
    intent = stripe_gateway.StripeGateway().retrieve_intent(checkout.payment_intent_id)

    assert checkout.client_secret not in repr(checkout)
    assert intent.client_secret not in repr(intent)
