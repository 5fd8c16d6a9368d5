"""Late, lost, duplicated and out-of-order news all end in the same state."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.payments import services
from apps.payments.gateways import stripe as stripe_gateway
from apps.payments.gateways.base import GatewayUnavailable
from apps.payments.models import Payment, PaymentStatus, PaymentTransition, StripeEvent
from tests.payments.conftest import deliver, intent_event, kinds, new_reference

pytestmark = pytest.mark.django_db


def _age(checkout, *, seconds: int) -> None:
    Payment.objects.filter(pk=checkout.payment_id).update(created_at=timezone.now() - timedelta(seconds=seconds))


def test_reconcile_finds_an_authorization_whose_webhook_never_came(
    stripe_double, announced, django_capture_on_commit_callbacks
):
    # localstripe sends no event when a manual-capture intent is authorized: the
    # only way we learn of it here is reconcile.
    waiting = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")
    stripe_double.pay(waiting.payment_intent_id)
    _age(waiting, seconds=90)
    recent = services.payment_start(reference=new_reference(), amount_cents=900, currency="EUR")
    stripe_double.pay(recent.payment_intent_id)

    with django_capture_on_commit_callbacks(execute=True):
        first = services.payment_reconcile()
    trail = PaymentTransition.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        second = services.payment_reconcile()

    assert (first, second) == (1, 0)
    assert Payment.objects.get(pk=waiting.payment_id).status == PaymentStatus.AUTHORIZED
    assert Payment.objects.get(pk=recent.payment_id).status == PaymentStatus.REQUIRES_PAYMENT  # under a minute old
    assert kinds(announced) == ["PaymentAuthorized"]
    assert PaymentTransition.objects.count() == trail


def test_a_webhook_received_while_the_broker_is_down_is_answered_and_reconcile_catches_up(
    api, stripe_double, announced, broker_down, django_capture_on_commit_callbacks
):
    checkout = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")
    stripe_double.pay(checkout.payment_intent_id)
    payload = intent_event(stripe_double, "payment_intent.amount_capturable_updated", checkout.payment_intent_id)

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(api, payload)

    assert response.status_code == 200  # Stripe does not retry, and need not
    assert StripeEvent.objects.get(stripe_id=payload["id"]).processed_at is None
    assert Payment.objects.get(pk=checkout.payment_id).status == PaymentStatus.REQUIRES_PAYMENT

    _age(checkout, seconds=90)
    with django_capture_on_commit_callbacks(execute=True):
        services.payment_reconcile()
    assert Payment.objects.get(pk=checkout.payment_id).status == PaymentStatus.AUTHORIZED
    assert kinds(announced) == ["PaymentAuthorized"]


def test_reconcile_skips_a_payment_when_stripe_is_unreachable(stripe_double, settings):
    checkout = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")
    _age(checkout, seconds=90)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    assert services.payment_reconcile() == 0
    assert Payment.objects.get(pk=checkout.payment_id).status == PaymentStatus.REQUIRES_PAYMENT


@pytest.mark.parametrize("order", list(itertools.permutations(["authorized", "failed", "captured"])), ids="-".join)
def test_events_in_any_order_converge(api, stripe_double, announced, django_capture_on_commit_callbacks, order):
    # Real timeline: the card is authorized, then the chef accepts (capture). The
    # three events (a stale decline of an earlier attempt included) arrive in any
    # order, the first before the capture, the others after it.
    checkout = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")
    stripe_double.pay(checkout.payment_intent_id)
    snapshot = stripe_double.intent(checkout.payment_intent_id)
    events = {
        "authorized": intent_event(
            stripe_double, "payment_intent.amount_capturable_updated", checkout.payment_intent_id
        ),
        "failed": intent_event(
            stripe_double,
            "payment_intent.payment_failed",
            checkout.payment_intent_id,
            status="requires_payment_method",
            last_payment_error={"code": "card_declined", "message": "Your card was declined."},
        ),
        "captured": intent_event(
            stripe_double, "payment_intent.succeeded", checkout.payment_intent_id, status="succeeded"
        ),
    }
    assert snapshot["status"] == "requires_capture"

    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(api, events[order[0]]).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.payment_capture(reference=checkout.reference)
    for name in order[1:]:
        with django_capture_on_commit_callbacks(execute=True):
            assert deliver(api, events[name]).status_code == 200

    payment = Payment.objects.get(pk=checkout.payment_id)
    assert (payment.status, payment.captured_cents) == (PaymentStatus.CAPTURED, 2500)
    assert kinds(announced) == ["PaymentAuthorized", "PaymentCaptured"]
    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == 3


def test_an_authorization_after_the_reference_died_is_voided(
    stripe_double, announced, monkeypatch, django_capture_on_commit_callbacks
):
    # The order expires while Stripe is unreachable for our cancel (an outage
    # localstripe cannot show: simulated at the gateway boundary); the customer's
    # card is then authorized anyway. The next sync voids it without announcing it.
    checkout = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")

    def unreachable(self, intent_id, *, payment_id):
        raise GatewayUnavailable("APIConnectionError")

    with monkeypatch.context() as patch:
        patch.setattr(stripe_gateway.StripeGateway, "cancel_intent", unreachable)
        with pytest.raises(Exception, match="cannot be reached"):
            services.payment_cancel(reference=checkout.reference)
    assert Payment.objects.get(pk=checkout.payment_id).cancel_requested_at is not None
    stripe_double.pay(checkout.payment_intent_id)
    _age(checkout, seconds=90)

    with django_capture_on_commit_callbacks(execute=True):
        services.payment_reconcile()

    assert Payment.objects.get(pk=checkout.payment_id).status == PaymentStatus.CANCELED
    assert stripe_double.intent(checkout.payment_intent_id)["status"] == "canceled"
    assert kinds(announced) == ["PaymentCanceled"]


def test_a_failed_processing_is_recorded_and_replayed(
    api, stripe_double, monkeypatch, announced, django_capture_on_commit_callbacks
):
    checkout = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")
    stripe_double.pay(checkout.payment_intent_id)
    payload = intent_event(stripe_double, "payment_intent.amount_capturable_updated", checkout.payment_intent_id)

    # Stripe unreachable while processing (simulated at the gateway boundary).
    def unreachable(self, intent_id):
        raise GatewayUnavailable("APIConnectionError")

    with monkeypatch.context() as patch:
        patch.setattr(stripe_gateway.StripeGateway, "retrieve_intent", unreachable)
        with django_capture_on_commit_callbacks(execute=True):
            answer = deliver(api, payload)
    assert answer.status_code == 200  # Stripe gets its answer even when processing fails in-process
    stored = StripeEvent.objects.get(stripe_id=payload["id"])
    assert (stored.processed_at, stored.attempts) == (None, 1)
    assert "PaymentProviderUnavailable" in stored.error
    assert Payment.objects.get(pk=checkout.payment_id).status == PaymentStatus.REQUIRES_PAYMENT

    with django_capture_on_commit_callbacks(execute=True):
        call_command("replay_stripe_event", payload["id"])

    stored.refresh_from_db()
    assert stored.processed_at is not None and stored.error == "" and stored.attempts == 2
    assert stored.payment_id == Payment.objects.get(pk=checkout.payment_id).pk
    assert Payment.objects.get(pk=checkout.payment_id).status == PaymentStatus.AUTHORIZED
    assert kinds(announced) == ["PaymentAuthorized"]


def test_reconcile_finishes_a_refund_that_never_reached_stripe(
    stripe_double, monkeypatch, announced, django_capture_on_commit_callbacks
):
    # Stripe unreachable for the refund call (simulated at the gateway boundary).
    checkout = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")
    stripe_double.pay(checkout.payment_intent_id)
    services.payment_sync_from_provider(payment_id=checkout.payment_id)
    services.payment_capture(reference=checkout.reference)

    def unreachable(self, intent_id, *, refund_id, amount_cents):
        raise GatewayUnavailable("APIConnectionError")

    with monkeypatch.context() as patch:
        patch.setattr(stripe_gateway.StripeGateway, "refund", unreachable)
        with pytest.raises(Exception, match="cannot be reached"):
            services.payment_refund(reference=checkout.reference)
    later = timezone.now() + timedelta(minutes=2)

    with django_capture_on_commit_callbacks(execute=True):
        first = services.payment_reconcile(now=later)
    with django_capture_on_commit_callbacks(execute=True):
        second = services.payment_reconcile(now=later)

    assert (first, second) == (1, 0)
    assert stripe_double.count("refunds") == 1
    assert Payment.objects.get(pk=checkout.payment_id).refunded_cents == 2500
    assert kinds(announced) == ["PaymentRefunded"]
