"""The webhook accepts only what Stripe signed, recently; nothing else changes anything."""

from __future__ import annotations

import json
import time

import pytest
from django.conf import settings

from apps.payments import services
from apps.payments.models import Payment, PaymentStatus, StripeEvent
from tests.payments.conftest import deliver, intent_event, kinds, new_reference
from tests.payments.signing import event_payload, signed_delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def authorized_at_stripe(stripe_double):
    """A payment whose card Stripe authorized, the news not yet received."""
    checkout = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")
    stripe_double.pay(checkout.payment_intent_id)
    return checkout


def test_a_signed_event_is_accepted_and_moves_the_payment(
    api, stripe_double, authorized_at_stripe, announced, django_capture_on_commit_callbacks
):
    payload = intent_event(
        stripe_double, "payment_intent.amount_capturable_updated", authorized_at_stripe.payment_intent_id
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(api, payload)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    assert Payment.objects.get(reference=authorized_at_stripe.reference).status == PaymentStatus.AUTHORIZED
    assert kinds(announced) == ["PaymentAuthorized"]
    stored = StripeEvent.objects.get(stripe_id=payload["id"])
    assert stored.processed_at is not None and stored.attempts == 1
    assert stored.payload["data"]["object"]["client_secret"] == "[redacted]"


def _tampered(api, payload):
    body, headers = signed_delivery(payload, settings.STRIPE_WEBHOOK_SECRET)
    forged = body.replace(b'"amount":2500', b'"amount":1')
    return api.generic(
        "POST",
        "/api/v1/payments/stripe/webhook",
        forged,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=headers["Stripe-Signature"],
    )


@pytest.mark.parametrize(
    "delivery",
    [
        pytest.param(_tampered, id="tampered-body"),
        pytest.param(lambda api, p: deliver(api, p, secret="whsec_someone_else"), id="wrong-secret"),
        pytest.param(lambda api, p: deliver(api, p, header=None), id="missing-header"),
        pytest.param(lambda api, p: deliver(api, p, header="v1=deadbeef"), id="malformed-header"),
        pytest.param(lambda api, p: deliver(api, p, timestamp=int(time.time()) - 305), id="stale-timestamp"),
        pytest.param(lambda api, p: deliver(api, p, timestamp=int(time.time()) + 305), id="future-timestamp"),
    ],
)
def test_an_unverified_delivery_is_refused_and_changes_nothing(
    api, stripe_double, authorized_at_stripe, announced, django_capture_on_commit_callbacks, delivery
):
    payload = intent_event(
        stripe_double, "payment_intent.amount_capturable_updated", authorized_at_stripe.payment_intent_id
    )
    assert b'"amount":2500' in json.dumps(payload, separators=(",", ":")).encode()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = delivery(api, payload)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert response.json()["detail"]
    assert not StripeEvent.objects.exists()
    assert callbacks == []
    assert Payment.objects.get(reference=authorized_at_stripe.reference).status == PaymentStatus.REQUIRES_PAYMENT
    assert announced == []


def test_timestamps_within_five_minutes_either_way_are_accepted(api, localstripe):
    for skew in (-290, 290):
        response = deliver(
            api, event_payload("customer.created", {"object": "customer"}), timestamp=int(time.time()) + skew
        )
        assert response.status_code == 200


def test_a_signed_body_that_is_not_an_event_is_invalid(api, localstripe):
    response = deliver(api, {"hello": "world"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert not StripeEvent.objects.exists()


def test_an_unknown_event_type_is_stored_and_ignored(api, localstripe, django_capture_on_commit_callbacks):
    payload = event_payload("customer.subscription.created", {"object": "subscription", "id": "sub_1"})

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = deliver(api, payload)

    assert response.status_code == 200
    stored = StripeEvent.objects.get(stripe_id=payload["id"])
    assert stored.processed_at is not None
    assert stored.outcome.startswith("ignored")
    assert callbacks == []  # nothing enqueued


def test_a_redelivered_event_is_acknowledged_and_ignored(
    api, stripe_double, authorized_at_stripe, announced, django_capture_on_commit_callbacks
):
    payload = intent_event(
        stripe_double, "payment_intent.amount_capturable_updated", authorized_at_stripe.payment_intent_id
    )

    with django_capture_on_commit_callbacks(execute=True):
        first = deliver(api, payload)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = deliver(api, payload)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["duplicate"] is True
    assert callbacks == []
    assert StripeEvent.objects.filter(stripe_id=payload["id"]).count() == 1
    assert kinds(announced) == ["PaymentAuthorized"]
