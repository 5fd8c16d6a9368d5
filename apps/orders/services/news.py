"""Moves that follow news from elsewhere: payments, tracking, the timers, an erased
account. Handlers and sweeps call these; they do database work only and leave the
provider to :func:`order_settle_money` in a task enqueued after commit.
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Round
from django.utils import timezone

from apps.orders.models import Actor, Order, OrderShare, OrderStatus
from apps.orders.services.status import order_cancel_locked, order_move_locked
from foodiefast.tasks import delay_after_commit

logger = logging.getLogger("apps.orders")

S = OrderStatus
SWEEP_BATCH = 200
PAYMENT_EXPIRED = "The payment was not made in time."
NOT_ACCEPTED = "The kitchen did not accept the order in time."
ERASED = "(erased)"


def order_of_reference(reference: str) -> UUID | None:
    """The order a payment or delivery reference names (payments serve other
    references too: those are not ours)."""
    try:
        return UUID(reference)
    except (TypeError, ValueError):
        return None


def _locked(reference: str) -> Order | None:
    order_id = order_of_reference(reference)
    if order_id is None:
        return None
    return Order.objects.select_for_update(of=("self",)).filter(pk=order_id).first()


def settle_money_after_commit(order_id: UUID) -> None:
    from apps.orders.tasks import order_settle_money_task

    delay_after_commit(order_settle_money_task, str(order_id))


@transaction.atomic
def order_payment_authorized(*, reference: str) -> None:
    """The card was authorized: a waiting order becomes ``paid`` (the chef's clock
    starts, ``OrderPaid`` is announced). An order cancelled meanwhile must not keep
    the hold: it is voided after commit. Idempotent."""
    order = _locked(reference)
    if order is None:
        return
    if order.status == S.PENDING_PAYMENT:
        order_move_locked(order, S.PAID, actor=Actor.PAYMENT)
    elif order.status == S.CANCELLED:
        settle_money_after_commit(order.pk)


@transaction.atomic
def order_payment_captured(*, reference: str) -> None:
    """Money captured for an order that is cancelled is refunded (after commit)."""
    order = _locked(reference)
    if order is not None and order.status == S.CANCELLED:
        settle_money_after_commit(order.pk)


def _at(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return timezone.now()
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.UTC)


@transaction.atomic
def order_delivery_moved(*, reference: str, target: str, at: str) -> None:
    """A courier picked the order up (``picked_up``) or delivered it
    (``delivered``). News may come late or twice: an order already there or further
    is left alone; a delivery whose pickup was not heard of passes through
    ``picked_up`` first."""
    order = _locked(reference)
    if order is None:
        return
    path = [S.READY_FOR_PICKUP, S.PICKED_UP, S.DELIVERED]
    if order.status not in path or path.index(order.status) >= path.index(target):
        if order.status not in path:
            logger.warning("order %s is %s: ignoring the courier's %s", order.pk, order.status, target)
        return
    moment = _at(at)
    for step in path[path.index(order.status) + 1 : path.index(target) + 1]:
        # A pickup heard of only with the delivery mails nothing of its own.
        order_move_locked(order, step, actor=Actor.COURIER, at=moment, notify=step == target)


def _sweep(*, status: str, due_field: str, reason: str, now: datetime | None) -> int:
    """Cancel every order in ``status`` whose ``due_field`` has passed: each in its
    own short transaction, locked with SKIP LOCKED (two sweeps never act twice on
    one order, and an order a request holds is left for the next run), then its
    money settled by a task. Returns how many were cancelled."""
    now = now or timezone.now()
    due = {"status": status, f"{due_field}__lte": now}
    ids = list(Order.objects.filter(**due).order_by(due_field).values_list("pk", flat=True)[:SWEEP_BATCH])
    done = 0
    for order_id in ids:
        with transaction.atomic():
            order = Order.objects.select_for_update(skip_locked=True, of=("self",)).filter(pk=order_id, **due).first()
            if order is None:
                continue
            order_cancel_locked(order, actor=Actor.SYSTEM, reason=reason)
            settle_money_after_commit(order.pk)
        done += 1
    return done


def orders_expire_unpaid(*, now: datetime | None = None) -> int:
    """Unpaid orders past ``payment_due_at``: cancelled, portions back, intent cancelled."""
    return _sweep(status=S.PENDING_PAYMENT, due_field="payment_due_at", reason=PAYMENT_EXPIRED, now=now)


def orders_cancel_unaccepted(*, now: datetime | None = None) -> int:
    """Paid orders past ``accept_by``: cancelled, portions back, card hold voided."""
    return _sweep(status=S.PAID, due_field="accept_by", reason=NOT_ACCEPTED, now=now)


def order_customer_erased(*, user_id: str) -> int:
    """The customer erased their account: their orders stay for accounting with the
    personal data anonymised (name, address, instructions, phone; the drop-off point
    rounded to about a kilometre), their live links revoked. Idempotent; how many
    orders changed."""
    OrderShare.objects.filter(order__customer_id=user_id).delete()
    return Order.objects.filter(customer_id=user_id, anonymised_at__isnull=True).update(
        customer_name="",
        delivery_address=ERASED,
        delivery_instructions="",
        delivery_phone="",
        delivery_lat=Round(F("delivery_lat"), 2),
        delivery_lng=Round(F("delivery_lng"), 2),
        anonymised_at=timezone.now(),
    )
