"""Start, authorize, capture, refund and cancel against localstripe over HTTP."""

from __future__ import annotations

import pytest
import requests
import stripe

from apps.payments import services
from apps.payments.errors import (
    PaymentNotCancelable,
    PaymentNotCapturable,
    PaymentNotRefundable,
    PaymentProviderUnavailable,
    RefundExceedsCaptured,
    RefundFailed,
)
from apps.payments.gateways import stripe as stripe_gateway
from apps.payments.gateways.base import GatewayInvalidRequest, GatewayUnavailable
from apps.payments.models import Payment, PaymentStatus, PaymentTransition, Refund
from apps.payments.selectors import payment_checkout, payment_get
from foodiefast.idempotency import IdempotencyKeyReused
from tests.payments.conftest import deliver, kinds, new_reference
from tests.payments.signing import event_payload

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
        assert payment_checkout(payment_get(reference=checkout.reference)).client_secret is None  # no longer payable

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
    assert payment_checkout(payment_get(reference=checkout.reference)).client_secret is None
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
    again = payment_checkout(payment_get(reference=checkout.reference))
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


def _dashboard_refund(stripe_double, intent_id: str, amount_cents: int) -> dict:
    """Staff refund in the Stripe dashboard, outside our API."""
    response = requests.post(
        f"{stripe_double.base}/v1/refunds",
        data={"payment_intent": intent_id, "amount": amount_cents},
        auth=stripe_double.auth,
        timeout=5,
    )
    response.raise_for_status()
    return response.json()


def _charge_refunded(stripe_double, intent_id: str) -> dict:
    charge = stripe_double.intent(intent_id)["charges"]["data"][0]
    return event_payload("charge.refunded", charge)


def test_a_refund_made_in_the_stripe_dashboard_is_recorded_once(
    api, stripe_double, announced, django_capture_on_commit_callbacks
):
    # localstripe sends no refund events: the test plays Stripe's charge.refunded.
    checkout = _authorized(stripe_double)
    services.payment_capture(reference=checkout.reference)
    services.payment_refund(reference=checkout.reference, amount_cents=500)  # ours, recorded by our call
    outside = _dashboard_refund(stripe_double, checkout.payment_intent_id, 700)

    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(api, _charge_refunded(stripe_double, checkout.payment_intent_id)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(api, _charge_refunded(stripe_double, checkout.payment_intent_id)).status_code == 200

    payment = Payment.objects.get(pk=checkout.payment_id)
    assert payment.refunded_cents == 1200
    assert sorted(Refund.objects.values_list("amount_cents", flat=True)) == [500, 700]
    assert Refund.objects.get(provider_refund_id=outside["id"]).key == f"provider-{outside['id']}"
    assert kinds(announced) == ["PaymentRefunded"]
    assert announced[0].amount_cents == 700 and announced[0].refunded_total_cents == 1200


def _refund_answer_lost(monkeypatch, reference: str, **refund) -> None:
    """Our process stops right after Stripe refunded (simulated at the gateway
    boundary: the answer is lost): the refund stays pending here."""
    real_refund = stripe_gateway.StripeGateway.refund

    def answer_lost(self, intent_id, *, refund_id, amount_cents):
        real_refund(self, intent_id, refund_id=refund_id, amount_cents=amount_cents)
        raise GatewayUnavailable("read timeout")

    with monkeypatch.context() as patch:
        patch.setattr(stripe_gateway.StripeGateway, "refund", answer_lost)
        with pytest.raises(PaymentProviderUnavailable):
            services.payment_refund(reference=reference, **refund)
    assert Refund.objects.get().status == "pending"


def test_a_refund_of_ours_left_pending_is_completed_from_stripe(
    stripe_double, monkeypatch, announced, django_capture_on_commit_callbacks
):
    # the next refund sync records it
    checkout = _authorized(stripe_double)
    services.payment_capture(reference=checkout.reference)
    _refund_answer_lost(monkeypatch, checkout.reference, amount_cents=800)

    with django_capture_on_commit_callbacks(execute=True):
        services.payment_sync_refunds(payment_id=checkout.payment_id)
        services.payment_sync_refunds(payment_id=checkout.payment_id)

    refund = Refund.objects.get()
    assert (refund.status, refund.amount_cents) == ("succeeded", 800)
    assert Payment.objects.get(pk=checkout.payment_id).refunded_cents == 800
    assert stripe_double.count("refunds") == 1
    assert kinds(announced) == ["PaymentRefunded"]


def test_a_refund_whose_answer_was_lost_is_recorded_when_asked_again_not_made_twice(
    stripe_double, monkeypatch, announced, django_capture_on_commit_callbacks
):
    # a retry (a redelivered task, reconcile) asks with the same key: Stripe's
    # idempotency key lasts 24 hours, and localstripe keeps none
    checkout = _authorized(stripe_double)
    services.payment_capture(reference=checkout.reference)
    _refund_answer_lost(monkeypatch, checkout.reference)

    with django_capture_on_commit_callbacks(execute=True):
        again = services.payment_refund(reference=checkout.reference)

    assert again.status == "succeeded" and again.provider_refund_id
    assert stripe_double.count("refunds") == 1
    assert Payment.objects.get(pk=checkout.payment_id).refunded_cents == 2500
    assert kinds(announced) == ["PaymentRefunded"]


def test_a_refused_refund_can_be_asked_again(stripe_double, monkeypatch):
    # Stripe refusing a refund is shown at the gateway boundary (localstripe refunds anything).
    checkout = _authorized(stripe_double)
    services.payment_capture(reference=checkout.reference)

    def refused(self, intent_id, *, refund_id, amount_cents):
        raise GatewayInvalidRequest("Charge has been disputed.", code="charge_disputed")

    with monkeypatch.context() as patch:
        patch.setattr(stripe_gateway.StripeGateway, "refund", refused)
        with pytest.raises(RefundFailed):
            services.payment_refund(reference=checkout.reference)
    refund = services.payment_refund(reference=checkout.reference)

    assert (refund.status, refund.amount_cents) == ("succeeded", 2500)
    assert sorted(Refund.objects.values_list("status", flat=True)) == ["failed", "succeeded"]
    assert Payment.objects.get(pk=checkout.payment_id).refunded_cents == 2500


def test_a_cancel_that_loses_the_race_to_a_capture_says_so(
    stripe_double, announced, django_capture_on_commit_callbacks
):
    # The chef's capture reached Stripe just before the customer's cancel (played
    # here by capturing at localstripe directly, our record still saying authorized).
    with django_capture_on_commit_callbacks(execute=True):
        checkout = _authorized(stripe_double)
    stripe_double.sdk.v1.payment_intents.capture(checkout.payment_intent_id)

    with pytest.raises(PaymentNotCancelable), django_capture_on_commit_callbacks(execute=True):
        services.payment_cancel(reference=checkout.reference)

    assert Payment.objects.get(pk=checkout.payment_id).status == PaymentStatus.CAPTURED
    assert kinds(announced) == ["PaymentAuthorized", "PaymentCaptured"]
