"""Checkouts at the same instant, on real PostgreSQL transactions in threads: no
oversell, no deadlock, no half reservation, and replays that make one order; a
customer's cancel while the chef's capture is under way, never held up by it."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.urls import reverse

from apps.menus.models import Dish
from apps.orders.models import Order
from apps.payments.models import Payment
from tests.concurrency import TIMEOUT, all_at_once
from tests.conftest import Client
from tests.factories.accounts import UserFactory
from tests.factories.chefs import KitchenFactory
from tests.factories.menus import DishFactory
from tests.orders.conftest import order_body, place, stripe_relay

pytestmark = pytest.mark.django_db(transaction=True)


def _app(user) -> Client:
    return Client().as_user(user)


def test_fifty_customers_for_ten_portions_make_ten_orders_and_forty_sold_out(stripe_double):
    dish = DishFactory(kitchen=KitchenFactory(always_open=True), portions_per_day=10)
    apps = [_app(UserFactory()) for _ in range(50)]

    answers = all_at_once([lambda app=app: place(app, order_body((dish, 1))) for app in apps])

    assert Counter(status for status, _ in answers) == {201: 10, 409: 40}
    assert {body["code"] for status, body in answers if status == 409} == {"sold_out"}
    assert {body["portions_left"] for status, body in answers if status == 409} == {0}
    assert Dish.objects.get(pk=dish.pk).portions_left == 0
    assert Order.objects.count() == 10
    assert Payment.objects.count() == 10


def test_two_dishes_ordered_in_opposite_orders_at_once_never_deadlock_or_half_reserve(stripe_double):
    kitchen = KitchenFactory(always_open=True)
    first, second = DishFactory(kitchen=kitchen, portions_per_day=5), DishFactory(kitchen=kitchen, portions_per_day=5)
    apps = [_app(UserFactory()) for _ in range(12)]
    bodies = [order_body((first, 1), (second, 1)), order_body((second, 1), (first, 1))]

    answers = all_at_once([lambda app=app, i=i: place(app, bodies[i % 2]) for i, app in enumerate(apps)])

    assert Counter(status for status, _ in answers) == {201: 5, 409: 7}
    assert {body["code"] for status, body in answers if status == 409} == {"sold_out"}
    left = Dish.objects.filter(pk__in=[first.pk, second.pk]).values_list("portions_left", flat=True)
    assert list(left) == [0, 0]
    assert Order.objects.count() == 5


def test_five_replays_at_once_make_one_order_one_intent_one_reservation(stripe_double):
    dish = DishFactory(kitchen=KitchenFactory(always_open=True), portions_per_day=10)
    customer = UserFactory()
    body = order_body((dish, 2))

    answers = all_at_once([lambda: place(_app(customer), body, key="tap-tap-tap") for _ in range(5)])

    assert [status for status, _ in answers] == [201] * 5
    assert len({answer["id"] for _, answer in answers}) == 1
    assert len({answer["payment"]["client_secret"] for _, answer in answers}) == 1
    assert Order.objects.count() == 1
    assert Dish.objects.get(pk=dish.pk).portions_left == 8
    assert stripe_double.count("payment_intents") == 1


def test_a_customer_cancel_during_the_chef_s_capture_is_not_held_up_and_ends_refunded_once(
    paid_order, customer_app, chef_app, stripe_double, settings
):
    # Stripe captures at once but its answer is slow to come back to the chef's accept.
    captured, answer_back = threading.Event(), threading.Event()

    def slow_capture_answer(method, path, forward):
        answer = forward()
        if method == "POST" and path.endswith("/capture"):
            captured.set()
            answer_back.wait(TIMEOUT)
        return answer

    def accept():
        try:
            return chef_app.post(reverse("v1:chef-order-accept", args=[paid_order.pk]), format="json")
        finally:
            connection.close()

    with stripe_relay(stripe_double, settings, slow_capture_answer), ThreadPoolExecutor(max_workers=1) as pool:
        accepting = pool.submit(accept)
        assert captured.wait(TIMEOUT)
        # The accept holds no row lock while it waits for Stripe: the cancel goes through.
        cancelled = customer_app.post(reverse("v1:order-cancel", args=[paid_order.pk]), format="json")
        still_waiting = not accepting.done()
        answer_back.set()
        accepted = accepting.result(timeout=TIMEOUT)

    assert still_waiting
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert (accepted.status_code, accepted.json()["code"]) == (409, "invalid_transition")
    order = Order.objects.get(pk=paid_order.pk)
    assert (order.status, order.cancelled_by) == ("cancelled", "customer")
    assert Dish.objects.get(pk=order.lines.get().dish_id).portions_left == 10  # released once
    payment = Payment.objects.get(reference=str(order.pk))
    assert payment.refunded_cents == payment.captured_cents == order.total_cents
    assert stripe_double.count("refunds") == 1
