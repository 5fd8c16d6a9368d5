"""Timers in the database, swept by beat: an unpaid order expires after
PAYMENT_EXPIRY_MINUTES, a paid one not accepted within CHEF_ACCEPTANCE_TIMEOUT_MINUTES
is cancelled; never earlier, and at the first sweep after (beat sweeps every 5 s)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection, transaction

from apps.menus.models import Dish
from apps.orders.models import Order
from apps.orders.services import orders_cancel_unaccepted, orders_expire_unpaid
from apps.payments.models import Payment
from config.celery import app as celery_app

pytestmark = pytest.mark.django_db


def _left(order) -> int:
    return Dish.objects.get(pk=order.lines.get().dish_id).portions_left


def test_beat_sweeps_the_order_timers_at_least_every_10_seconds():
    entry = celery_app.conf.beat_schedule["orders-timers"]

    assert entry["task"] == "apps.orders.tasks.orders_sweep_timers_task"
    assert entry["schedule"] <= 10
    assert celery_app.amqp.router.route({}, entry["task"])["queue"].name == "orders"


def test_an_unpaid_order_expires_at_its_time_not_before(placed, stripe_double, committed, settings):
    settings.PAYMENT_EXPIRY_MINUTES = 15
    order = Order.objects.get(pk=placed()["id"])
    due = order.created_at + dt.timedelta(minutes=15)

    with time_machine.travel(due - dt.timedelta(seconds=1), tick=False), committed():
        assert orders_expire_unpaid() == 0
    assert Order.objects.get(pk=order.pk).status == "pending_payment"

    with time_machine.travel(due + dt.timedelta(seconds=1), tick=False), committed():
        assert orders_expire_unpaid() == 1
        assert orders_expire_unpaid() == 0  # a second sweep finds nothing more

    order.refresh_from_db()
    assert (order.status, order.cancelled_by, order.money_outcome) == ("cancelled", "system", "none")
    assert _left(order) == 10
    intent = Payment.objects.get(reference=str(order.pk)).provider_intent_id
    assert stripe_double.intent(intent)["status"] == "canceled"


def test_a_paid_order_not_accepted_in_time_is_cancelled_and_its_hold_voided(
    paid_order, stripe_double, committed, settings
):
    due = paid_order.accept_by

    with time_machine.travel(due - dt.timedelta(seconds=1), tick=False), committed():
        assert orders_cancel_unaccepted() == 0
    with time_machine.travel(due + dt.timedelta(seconds=1), tick=False), committed():
        assert orders_cancel_unaccepted() == 1

    paid_order.refresh_from_db()
    assert (paid_order.status, paid_order.money_outcome) == ("cancelled", "voided")
    assert paid_order.cancellation_reason == "The kitchen did not accept the order in time."
    assert _left(paid_order) == 10
    intent = Payment.objects.get(reference=str(paid_order.pk)).provider_intent_id
    assert stripe_double.intent(intent)["status"] == "canceled"


def test_a_paid_order_is_not_expired_by_the_payment_timer(paid_order, committed):
    with time_machine.travel(paid_order.payment_due_at + dt.timedelta(minutes=1), tick=False), committed():
        orders_expire_unpaid()

    assert Order.objects.get(pk=paid_order.pk).status == "paid"


@pytest.mark.django_db(transaction=True)
def test_an_order_another_sweep_holds_is_skipped_not_cancelled_twice(settings):
    from tests.factories.orders import OrderFactory

    settings.CELERY_TASK_ALWAYS_EAGER = True
    order = OrderFactory(payment_due_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    held, release = threading.Event(), threading.Event()

    def other_sweep():
        with transaction.atomic():
            Order.objects.select_for_update().get(pk=order.pk)
            held.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=other_sweep)
    thread.start()
    assert held.wait(10)
    try:
        skipped = orders_expire_unpaid()
    finally:
        release.set()
        thread.join(10)

    assert skipped == 0
    assert orders_expire_unpaid() == 1
    assert list(order.events.values_list("status", flat=True)) == ["pending_payment", "cancelled"]
