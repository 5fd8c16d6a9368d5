"""Every committed move of an order shows on its tracking channel; a Redis outage
never fails the move."""

from __future__ import annotations

import pytest
from django.db import transaction

from apps.orders.models import Actor, Order, OrderStatus
from apps.orders.services.status import order_lock, order_move_locked
from apps.tracking.channel import channel_events_since
from tests.factories.orders import OrderFactory
from tests.processes import closed_port


def _move(order: Order, target: str, **changes) -> None:
    with transaction.atomic():
        order_move_locked(order_lock(order_id=order.pk), target, actor=Actor.SYSTEM, **changes)


@pytest.mark.django_db
def test_each_committed_move_is_a_status_event_in_order(django_capture_on_commit_callbacks):
    order = OrderFactory(paid=True)

    with django_capture_on_commit_callbacks(execute=True):
        _move(order, OrderStatus.ACCEPTED, prep_minutes=15)
    with django_capture_on_commit_callbacks(execute=True):
        _move(order, OrderStatus.CANCELLED, reason="Out of leeks")

    events = channel_events_since(reference=str(order.pk))
    assert [(e.kind, e.data["status"], e.final) for e in events] == [
        ("status", "accepted", False),
        ("status", "cancelled", True),
    ]
    assert events[-1].data["at"].endswith("Z")


@pytest.mark.django_db
def test_nothing_is_shown_for_a_move_that_rolled_back(django_capture_on_commit_callbacks):
    order = OrderFactory(paid=True)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        order_move_locked(order_lock(order_id=order.pk), OrderStatus.ACCEPTED, actor=Actor.SYSTEM)
        transaction.set_rollback(True)

    assert channel_events_since(reference=str(order.pk)) == []


@pytest.mark.django_db
def test_a_move_succeeds_while_redis_is_unreachable(settings, django_capture_on_commit_callbacks):
    order = OrderFactory(paid=True)
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"

    with django_capture_on_commit_callbacks(execute=True):
        _move(order, OrderStatus.ACCEPTED, prep_minutes=15)

    order.refresh_from_db()
    assert order.status == OrderStatus.ACCEPTED
