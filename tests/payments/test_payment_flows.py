"""Start, authorize, capture, refund and cancel against localstripe over HTTP."""

from __future__ import annotations

import pytest
import stripe

from apps.payments import services
from apps.payments.errors import (
    PaymentNotCancelable,
    PaymentNotCapturable,
    PaymentNotRefundable,
    PaymentProviderUnavailable,
    RefundExceedsCaptured,
)
from apps.payments.models import Payment, PaymentStatus, PaymentTransition, Refund
from apps.payments.selectors import payment_get_checkout
from foodiefast.idempotency import IdempotencyKeyReused
from tests.payments.conftest import kinds, new_reference

pytestmark = pytest.mark.django_db


def _authorized(stripe_double, *, amount_cents=2500):
    """A payment whose card is authorized, as our records know it."""
    checkout = services.payment_start(reference=new_reference(), amount_cents=amount_cents, currency="EUR")
    stripe_double.pay(checkout.payment_intent_id)
    services.payment_sync_from_provider(payment_id=checkout.payment_id)
    return checkout


def test_start_creates_one_manual_capture_intent_for_the_reference(stripe_double, settings):
    reference = new_reference()

    checkout = services.payment_start(reference=reference, amount_cents=2500, currency="eur")

    intent = stripe_double.intent(checkout.payment_intent_id)
    assert intent["amount"] == 2500
    assert intent["currency"] == "eur"
    assert intent["capture_method"] == "manual"
    assert intent["metadata"]["reference"] == reference
    assert checkout.as_api() == {
        "provider": "stripe",
        "payment_intent_id": intent["id"],
        "client_secret": intent["client_secret"],
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
    }
    payment = Payment.objects.get(reference=reference)
    assert (payment.status, payment.amount_cents, payment.currency) == (PaymentStatus.REQUIRES_PAYMENT, 2500, "EUR")


def test_starting_again_for_the_same_reference_gives_the_same_intent(stripe_double):
    reference = new_reference()

    first = services.payment_start(reference=reference, amount_cents=2500, currency="EUR")
    again = services.payment_start(reference=reference, amount_cents=2500, currency="EUR")

    assert again.payment_intent_id == first.payment_intent_id
    assert again.client_secret == first.client_secret
    assert stripe_double.count("payment_intents") == 1
    assert Payment.objects.filter(reference=reference).count() == 1


def test_another_amount_for_the_same_reference_is_refused(stripe_double):
    reference = new_reference()
    services.payment_start(reference=reference, amount_cents=2500, currency="EUR")

    with pytest.raises(IdempotencyKeyReused):
        services.payment_start(reference=reference, amount_cents=1, currency="EUR")

    assert stripe_double.count("payment_intents") == 1


def test_authorize_capture_partial_refund_then_full_refund(
    stripe_double, announced, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        checkout = _authorized(stripe_double)
        assert payment_get_checkout(reference=checkout.reference).client_secret is None  # no longer payable

        captured = services.payment_capture(reference=checkout.reference)
        assert captured.status == PaymentStatus.CAPTURED
        assert captured.captured_cents == 2500
        assert stripe_double.intent(checkout.payment_intent_id)["status"] == "succeeded"

        partial = services.payment_refund(reference=checkout.reference, amount_cents=1000)
        full = services.payment_refund(reference=checkout.reference)

    assert (partial.amount_cents, full.amount_cents) == (1000, 1500)
    payment = Payment.objects.get(pk=checkout.payment_id)
    assert (payment.status, payment.captured_cents, payment.refunded_cents) == (PaymentStatus.CAPTURED, 2500, 2500)
    charge = stripe_double.intent(checkout.payment_intent_id)["charges"]["data"][0]
    assert charge["amount_refunded"] == 2500
    assert kinds(announced) == ["PaymentAuthorized", "PaymentCaptured", "PaymentRefunded", "PaymentRefunded"]
    assert [e.amount_cents for e in announced[2:]] == [1000, 1500]
    assert announced[-1].refunded_total_cents == 2500


def test_capture_and_full_refund_asked_twice_happen_once(stripe_double, announced, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        checkout = _authorized(stripe_double)
        services.payment_capture(reference=checkout.reference)
        services.payment_capture(reference=checkout.reference)
        first = services.payment_refund(reference=checkout.reference)
        second = services.payment_refund(reference=checkout.reference)

    assert first.pk == second.pk
    assert stripe_double.count("refunds") == 1
    assert Refund.objects.count() == 1
    assert kinds(announced) == ["PaymentAuthorized", "PaymentCaptured", "PaymentRefunded"]


def test_an_over_refund_is_refused_before_asking_stripe(stripe_double):
    checkout = _authorized(stripe_double)
    services.payment_capture(reference=checkout.reference)
    services.payment_refund(reference=checkout.reference, amount_cents=2000)

    with pytest.raises(RefundExceedsCaptured):
        services.payment_refund(reference=checkout.reference, amount_cents=501)

    assert stripe_double.count("refunds") == 1
    assert Payment.objects.get(pk=checkout.payment_id).refunded_cents == 2000


def test_nothing_is_refunded_before_capture(stripe_double):
    checkout = _authorized(stripe_double)

    with pytest.raises(PaymentNotRefundable):
        services.payment_refund(reference=checkout.reference)

    assert stripe_double.count("refunds") == 0


def test_cancel_of_an_authorized_payment_voids_the_hold(stripe_double, announced, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        checkout = _authorized(stripe_double)

        canceled = services.payment_cancel(reference=checkout.reference)
        again = services.payment_cancel(reference=checkout.reference)

    assert canceled.status == again.status == PaymentStatus.CANCELED
    intent = stripe_double.intent(checkout.payment_intent_id)
    assert intent["status"] == "canceled"
    assert intent["charges"]["data"][0]["captured"] is False
    assert kinds(announced) == ["PaymentAuthorized", "PaymentCanceled"]
    with pytest.raises(PaymentNotCapturable):
        services.payment_capture(reference=checkout.reference)


def test_cancel_before_any_card_leaves_nothing_to_pay(stripe_double, announced, django_capture_on_commit_callbacks):
    checkout = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")

    with django_capture_on_commit_callbacks(execute=True):
        services.payment_cancel(reference=checkout.reference)

    assert stripe_double.intent(checkout.payment_intent_id)["status"] == "canceled"
    assert payment_get_checkout(reference=checkout.reference).client_secret is None
    with pytest.raises(stripe.InvalidRequestError):  # the app can no longer pay it
        stripe_double.pay(checkout.payment_intent_id)
    assert kinds(announced) == ["PaymentCanceled"]


def test_a_captured_payment_is_refunded_not_voided(stripe_double):
    checkout = _authorized(stripe_double)
    services.payment_capture(reference=checkout.reference)

    with pytest.raises(PaymentNotCancelable):
        services.payment_cancel(reference=checkout.reference)

    assert Payment.objects.get(pk=checkout.payment_id).status == PaymentStatus.CAPTURED


def test_a_declined_card_leaves_the_payment_payable_with_the_same_intent(
    stripe_double, announced, django_capture_on_commit_callbacks
):
    checkout = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")

    with pytest.raises(stripe.CardError):
        stripe_double.pay(checkout.payment_intent_id, card="pm_card_chargeCustomerFail")
    with django_capture_on_commit_callbacks(execute=True):
        payment = services.payment_sync_from_provider(payment_id=checkout.payment_id)

    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_code == "card_declined"
    again = payment_get_checkout(reference=checkout.reference)
    assert again.payment_intent_id == checkout.payment_intent_id
    assert again.client_secret == checkout.client_secret
    assert kinds(announced) == ["PaymentFailed"]
    with pytest.raises(PaymentNotCapturable):
        services.payment_capture(reference=checkout.reference)


def test_every_state_change_leaves_an_audit_row(stripe_double):
    checkout = _authorized(stripe_double)
    services.payment_capture(reference=checkout.reference)

    trail = list(
        PaymentTransition.objects.filter(payment_id=checkout.payment_id).values_list("from_status", "to_status")
    )
    assert trail == [("requires_payment", "authorized"), ("authorized", "captured")]


def test_a_start_that_could_not_reach_stripe_resumes_on_retry(stripe_double, settings):
    reference = new_reference()
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    with pytest.raises(PaymentProviderUnavailable) as refused:
        services.payment_start(reference=reference, amount_cents=2500, currency="EUR")
    settings.STRIPE_API_BASE = stripe_double.base
    checkout = services.payment_start(reference=reference, amount_cents=2500, currency="EUR")

    assert refused.value.status_code == 503
    assert refused.value.code == "payment_provider_unavailable"
    assert checkout.client_secret
    assert stripe_double.count("payment_intents") == 1
    assert Payment.objects.filter(reference=reference).count() == 1
