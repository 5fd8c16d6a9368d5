"""The order's life after checkout: paid by the card's authorization, cancelled by the
customer before acceptance, accepted (captured at localstripe), rejected, ready,
picked up and delivered by tracking's news, reviewed once."""

from __future__ import annotations

import pytest
import requests
import stripe
from django.urls import reverse
from django.utils import timezone

from apps.chefs.models import Kitchen
from apps.menus.models import Dish
from apps.orders.models import Order, OrderEvent
from apps.payments import services as payment_services
from apps.payments.models import Payment, PaymentStatus
from apps.tracking.events import DeliveryCompleted, DeliveryPickedUp
from foodiefast.events import add_local_listener, publish
from tests.factories.chefs import KitchenFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def order_events():
    """Every orders event announced (after commit) during the test."""
    seen: list = []
    remove = add_local_listener(lambda e: seen.append(e) if e.__module__ == "apps.orders.events" else None)
    yield seen
    remove()


def sync_payment(order_id) -> None:
    """The news of the payment reaches us (as the webhook or the reconcile brings it)."""
    payment_services.payment_sync_from_provider(payment_id=Payment.objects.get(reference=str(order_id)).pk)


def _left(order) -> int:
    return Dish.objects.get(pk=order.lines.get().dish_id).portions_left


def _intent(stripe_double, order) -> dict:
    return stripe_double.intent(Payment.objects.get(reference=str(order.pk)).provider_intent_id)


def _timeline(order) -> list[str]:
    return list(OrderEvent.objects.filter(order=order).values_list("status", flat=True))


def test_an_authorized_card_makes_the_order_paid_with_an_acceptance_deadline(placed, pay, order_events, settings):
    settings.CHEF_ACCEPTANCE_TIMEOUT_MINUTES = 10
    before = timezone.now()

    order = pay(placed()["id"])

    assert order.status == "paid"
    assert before + timezone.timedelta(minutes=10) <= order.accept_by <= timezone.now() + timezone.timedelta(minutes=10)
    assert _timeline(order) == ["pending_payment", "paid"]
    assert [type(e).__name__ for e in order_events] == ["OrderPaid"]
    assert order_events[0].accept_by == order.accept_by.isoformat()


def test_the_client_secret_is_given_again_while_the_order_waits_for_payment(customer_app, placed, pay):
    order = placed()

    again = customer_app.get(reverse("v1:order", args=[order["id"]])).json()
    pay(order["id"])
    after = customer_app.get(reverse("v1:order", args=[order["id"]])).json()

    assert again["payment"] == order["payment"]
    assert after["status"] == "paid"
    assert after["payment"]["client_secret"] is None
    assert after["payment"]["payment_intent_id"] == order["payment"]["payment_intent_id"]


def test_a_declined_card_leaves_the_order_payable_with_another_card(
    customer_app, placed, pay, stripe_double, committed
):
    order = placed()

    with pytest.raises(stripe.CardError):
        stripe_double.pay(order["payment"]["payment_intent_id"], card="pm_card_chargeCustomerFail")
    with committed():
        sync_payment(order["id"])
    still = customer_app.get(reverse("v1:order", args=[order["id"]])).json()

    assert still["status"] == "pending_payment"
    assert still["payment"]["client_secret"] == order["payment"]["client_secret"]
    assert Payment.objects.get(reference=order["id"]).status == PaymentStatus.FAILED


def test_another_customer_s_order_is_not_found(make_client, placed):
    from tests.factories.accounts import UserFactory

    order = placed()
    stranger = make_client(UserFactory())

    assert stranger.get(reverse("v1:order", args=[order["id"]])).status_code == 404
    response = stranger.post(reverse("v1:order-cancel", args=[order["id"]]))
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert Order.objects.get(pk=order["id"]).status == "pending_payment"


def test_the_customer_cancels_a_paid_order_the_hold_is_voided_and_portions_come_back_once(
    customer_app, paid_order, stripe_double, committed, order_events
):
    assert _left(paid_order) == 8

    with committed():
        first = customer_app.post(reverse("v1:order-cancel", args=[paid_order.pk]))
        second = customer_app.post(reverse("v1:order-cancel", args=[paid_order.pk]))

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["status"] == second.json()["status"] == "cancelled"
    assert _left(paid_order) == 10
    assert _intent(stripe_double, paid_order)["status"] == "canceled"
    assert Payment.objects.get(reference=str(paid_order.pk)).status == PaymentStatus.CANCELED
    assert _timeline(paid_order) == ["pending_payment", "paid", "cancelled"]
    cancelled = [e for e in order_events if type(e).__name__ == "OrderCancelled"]
    assert [(e.cancelled_by, e.money) for e in cancelled] == [("customer", "voided")]


def test_cancelling_an_unpaid_order_cancels_its_intent(customer_app, placed, stripe_double):
    order = placed()

    response = customer_app.post(reverse("v1:order-cancel", args=[order["id"]]))

    assert response.json()["status"] == "cancelled"
    assert stripe_double.intent(order["payment"]["payment_intent_id"])["status"] == "canceled"
    assert Dish.objects.get(pk=order["items"][0]["dish_id"]).portions_left == 10


def test_the_chef_accepts_a_paid_order_and_the_payment_is_captured(chef_app, paid_order, stripe_double, order_events):
    response = chef_app.post(reverse("v1:chef-order-accept", args=[paid_order.pk]), {"prep_minutes": 35}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "accepted"
    assert response.json()["prep_minutes"] == 35
    assert _intent(stripe_double, paid_order)["status"] == "succeeded"
    assert Payment.objects.get(reference=str(paid_order.pk)).captured_cents == paid_order.total_cents


def test_after_acceptance_the_customer_can_no_longer_cancel(customer_app, chef_app, paid_order):
    chef_app.post(reverse("v1:chef-order-accept", args=[paid_order.pk]), format="json")

    response = customer_app.post(reverse("v1:order-cancel", args=[paid_order.pk]))

    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    assert Order.objects.get(pk=paid_order.pk).status == "accepted"
    assert _left(paid_order) == 8


def test_accepting_an_unpaid_order_is_an_invalid_transition(chef_app, placed, stripe_double):
    order = placed()

    response = chef_app.post(reverse("v1:chef-order-accept", args=[order["id"]]), format="json")

    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    assert stripe_double.intent(order["payment"]["payment_intent_id"])["status"] == "requires_payment_method"


def test_another_chef_s_order_is_not_found(make_client, paid_order):
    other_chef = make_client(KitchenFactory().chef)

    for action in ("accept", "reject", "ready"):
        response = other_chef.post(reverse(f"v1:chef-order-{action}", args=[paid_order.pk]), {"reason": "x"})
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert Order.objects.get(pk=paid_order.pk).status == "paid"


def test_a_capture_stripe_refuses_cancels_the_order_and_gives_the_portions_back(
    chef_app, paid_order, stripe_double, stripe_refusing_captures, committed, order_events
):
    with committed():
        response = chef_app.post(reverse("v1:chef-order-accept", args=[paid_order.pk]), format="json")

    assert (response.status_code, response.json()["code"]) == (409, "payment_capture_failed")
    order = Order.objects.get(pk=paid_order.pk)
    assert order.status == "cancelled"
    assert order.cancellation_reason == "The payment could not be captured."
    assert _left(order) == 10
    assert _intent(stripe_double, order)["status"] == "canceled"
    assert [(type(e).__name__, e.cancelled_by) for e in order_events if type(e).__name__ == "OrderCancelled"] == [
        ("OrderCancelled", "payment")
    ]


def test_stripe_unreachable_at_accept_leaves_the_order_paid_and_the_chef_can_retry(
    chef_app, paid_order, stripe_double, settings
):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    down = chef_app.post(reverse("v1:chef-order-accept", args=[paid_order.pk]), format="json")

    assert (down.status_code, down.json()["code"]) == (503, "payment_provider_unavailable")
    assert int(down["Retry-After"]) >= 1
    assert Order.objects.get(pk=paid_order.pk).status == "paid"

    settings.STRIPE_API_BASE = stripe_double.base
    again = chef_app.post(reverse("v1:chef-order-accept", args=[paid_order.pk]), format="json")
    assert again.json()["status"] == "accepted"


def test_reject_needs_a_reason_and_voids_the_hold(chef_app, paid_order, stripe_double):
    without = chef_app.post(reverse("v1:chef-order-reject", args=[paid_order.pk]), {}, format="json")
    response = chef_app.post(
        reverse("v1:chef-order-reject", args=[paid_order.pk]), {"reason": "Out of beef"}, format="json"
    )

    assert (without.status_code, without.json()["code"]) == (400, "invalid")
    assert "reason" in without.json()["fields"]
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancellation_reason"] == "Out of beef"
    assert _intent(stripe_double, paid_order)["status"] == "canceled"
    assert _left(paid_order) == 10


def test_ready_follows_accepted_only(chef_app, paid_order):
    too_early = chef_app.post(reverse("v1:chef-order-ready", args=[paid_order.pk]), format="json")
    chef_app.post(reverse("v1:chef-order-accept", args=[paid_order.pk]), format="json")
    ready = chef_app.post(reverse("v1:chef-order-ready", args=[paid_order.pk]), format="json")

    assert (too_early.status_code, too_early.json()["code"]) == (409, "invalid_transition")
    assert ready.json()["status"] == "ready_for_pickup"
    assert [e["status"] for e in ready.json()["timeline"]] == [
        "pending_payment",
        "paid",
        "accepted",
        "ready_for_pickup",
    ]


def test_an_authorization_for_a_cancelled_order_is_voided(customer_app, placed, stripe_double, pay):
    order = placed()
    Order.objects.filter(pk=order["id"]).update(status="cancelled")  # cancelled while the card was being confirmed

    pay(order["id"])

    assert Order.objects.get(pk=order["id"]).status == "cancelled"
    assert stripe_double.intent(order["payment"]["payment_intent_id"])["status"] == "canceled"


def test_money_captured_for_an_order_cancelled_meanwhile_is_refunded_on_the_news(paid_order, stripe_double, committed):
    # The provider captured the hold anyway (outside our accept) while the order died.
    intent_id = Payment.objects.get(reference=str(paid_order.pk)).provider_intent_id
    requests.post(
        f"{stripe_double.base}/v1/payment_intents/{intent_id}/capture", auth=stripe_double.auth, timeout=5
    ).raise_for_status()
    Order.objects.filter(pk=paid_order.pk).update(status="cancelled")

    with committed():  # payments hears of the capture (webhook or reconcile) and announces it
        sync_payment(paid_order.pk)

    payment = Payment.objects.get(reference=str(paid_order.pk))
    assert payment.status == PaymentStatus.CAPTURED
    assert payment.refunded_cents == payment.captured_cents == paid_order.total_cents
    refunds = requests.get(
        f"{stripe_double.base}/v1/refunds", params={"payment_intent": intent_id}, auth=stripe_double.auth, timeout=5
    ).json()["data"]
    assert [r["amount"] for r in refunds if r.get("payment_intent") == intent_id] == [paid_order.total_cents]


def test_a_capture_for_a_cancelled_order_is_refunded(chef_app, paid_order, stripe_double, committed):
    from apps.orders.services import order_cancel_by_staff

    chef_app.post(reverse("v1:chef-order-accept", args=[paid_order.pk]), format="json")

    with committed():
        order_cancel_by_staff(order_id=paid_order.pk, reason="Support: the customer was ill")

    payment = Payment.objects.get(reference=str(paid_order.pk))
    assert payment.refunded_cents == payment.captured_cents == paid_order.total_cents
    assert Order.objects.get(pk=paid_order.pk).money_outcome == "refunded"


def _ready(chef_app, order):
    chef_app.post(reverse("v1:chef-order-accept", args=[order.pk]), format="json")
    chef_app.post(reverse("v1:chef-order-ready", args=[order.pk]), format="json")


def _courier_news(event_cls, order, committed):
    with committed():
        publish(event_cls(reference=str(order.pk), delivery_id="d-1", courier_id="c-1", at=timezone.now().isoformat()))


def test_the_courier_s_pickup_and_delivery_move_the_order(chef_app, paid_order, committed, order_events):
    _ready(chef_app, paid_order)

    _courier_news(DeliveryPickedUp, paid_order, committed)
    assert Order.objects.get(pk=paid_order.pk).status == "picked_up"
    _courier_news(DeliveryCompleted, paid_order, committed)
    _courier_news(DeliveryCompleted, paid_order, committed)  # delivered twice: nothing more

    assert Order.objects.get(pk=paid_order.pk).status == "delivered"
    assert _timeline(paid_order)[-2:] == ["picked_up", "delivered"]
    assert [type(e).__name__ for e in order_events][-2:] == ["OrderPickedUp", "OrderDelivered"]


def test_a_delivery_heard_before_its_pickup_passes_through_picked_up(chef_app, paid_order, committed):
    _ready(chef_app, paid_order)

    _courier_news(DeliveryCompleted, paid_order, committed)
    _courier_news(DeliveryPickedUp, paid_order, committed)

    assert Order.objects.get(pk=paid_order.pk).status == "delivered"
    assert _timeline(paid_order)[-2:] == ["picked_up", "delivered"]


def test_a_delivered_order_is_reviewed_once_and_the_kitchen_rating_follows(
    api, customer_app, chef_app, paid_order, committed
):
    early = customer_app.post(reverse("v1:order-review", args=[paid_order.pk]), {"rating": 5}, format="json")
    _ready(chef_app, paid_order)
    _courier_news(DeliveryCompleted, paid_order, committed)

    with committed():
        first = customer_app.post(
            reverse("v1:order-review", args=[paid_order.pk]), {"rating": 4, "comment": "Tender."}, format="json"
        )
    second = customer_app.post(reverse("v1:order-review", args=[paid_order.pk]), {"rating": 1}, format="json")

    assert (early.status_code, early.json()["code"]) == (409, "review_not_allowed")
    assert first.status_code == 201
    assert first.json()["rating"] == 4
    assert (second.status_code, second.json()["code"]) == (409, "review_not_allowed")
    kitchen = Kitchen.objects.get(pk=paid_order.kitchen_id)
    assert (kitchen.rating, kitchen.rating_count) == (4.0, 1)
    shown = api.get(reverse("v1:chef-detail", args=[kitchen.pk])).json()
    assert (shown["rating"], shown["rating_count"]) == (4.0, 1)


@pytest.mark.parametrize("rating", [0, 6, "5"])
def test_a_rating_outside_one_to_five_is_invalid(customer_app, placed, rating):
    order = placed()

    response = customer_app.post(reverse("v1:order-review", args=[order["id"]]), {"rating": rating}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid")
