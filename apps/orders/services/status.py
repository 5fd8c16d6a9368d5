"""The one way an order changes status: :func:`order_move_locked`.

It checks the move against :data:`~apps.orders.models.TRANSITIONS`, stamps the
order, writes the timeline row, announces the event and asks for the emails the move
owes (:mod:`.notifications`), all in the caller's transaction on a row the caller
locked, and once that transaction commits, shows the move on the order's live
tracking channel (:func:`status_to_channel`). Portions go back through
:func:`portions_release_locked`, at most once per order.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.fields import DateTimeField

from apps.menus.services import dish_portions_release
from apps.orders import events
from apps.orders.errors import OrderInvalidTransition, OrderNotFound
from apps.orders.models import FINAL_STATUSES, MoneyOutcome, Order, OrderEvent, OrderStatus, can_move
from apps.orders.services.notifications import order_notify_locked
from apps.tracking.channel import STATUS, ChannelUnavailable, channel_publish
from apps.tracking.services import delivery_cancel, delivery_mark_ready, delivery_open
from foodiefast.events import Event, publish
from foodiefast.geo import Point

logger = logging.getLogger("apps.orders")

S = OrderStatus


def order_lock(*, order_id, **visible) -> Order:
    """Lock the order row (in the caller's transaction); ``visible`` narrows who may
    see it (``customer=...``, ``kitchen__chef=...``). Raises ``OrderNotFound``."""
    order = Order.objects.select_for_update(of=("self",)).filter(pk=order_id, **visible).first()
    if order is None:
        raise OrderNotFound()
    return order


def money_outcome_of(status: str) -> str:
    """What cancelling an order in ``status`` does to the customer's money."""
    if status == S.PENDING_PAYMENT:
        return MoneyOutcome.NONE
    if status == S.PAID:
        return MoneyOutcome.VOIDED
    return MoneyOutcome.REFUNDED


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def order_move_locked(
    order: Order,
    target: str,
    *,
    actor: str,
    reason: str = "",
    at: datetime | None = None,
    notify: bool = True,
    **changes,
) -> None:
    """Move a locked order to ``target`` (raises ``OrderInvalidTransition`` when the
    map forbids it), with ``changes`` to other fields; writes the timeline row,
    announces the move after commit and, unless ``notify`` is false (a step the next
    move of the same call supersedes), asks for the mail it owes in this transaction."""
    if not can_move(order.status, target):
        raise OrderInvalidTransition(
            _("An order that is “%(status)s” cannot become “%(target)s”.")
            % {"status": order.get_status_display(), "target": OrderStatus(target).label}
        )
    now = at or timezone.now()
    previous = order.status
    order.status = target
    for name, value in changes.items():
        setattr(order, name, value)
    if target == S.PAID:
        order.paid_at = now
        order.accept_by = now + timedelta(minutes=settings.CHEF_ACCEPTANCE_TIMEOUT_MINUTES)
    elif target == S.ACCEPTED:
        order.accepted_at = now
    elif target == S.CANCELLED:
        order.cancelled_at = now
        order.cancelled_by = actor
        order.cancellation_reason = reason[:500]
        order.money_outcome = money_outcome_of(previous)
    order.save()
    OrderEvent.objects.create(order=order, status=target, at=now, actor=actor, reason=reason[:500])
    _delivery_follows(order, previous=previous, at=now)
    event = _event_for(order, previous=previous, at=now)
    if event is not None:
        publish(event)
    if notify:
        order_notify_locked(order, at=now)
    transaction.on_commit(functools.partial(status_to_channel, reference=str(order.pk), status=target, at=now))
    logger.info("order %s: %s -> %s (%s)", order.pk, previous, target, actor)


def _delivery_follows(order: Order, *, previous: str, at: datetime) -> None:
    """Tracking follows the order in the same transaction: acceptance opens the
    delivery (the order id as its reference, the kitchen as pickup, the door as
    drop-off, ready after the preparation time), ready makes it pickable, and a
    cancelled accepted or ready order cancels it."""
    reference = str(order.pk)
    if order.status == S.ACCEPTED:
        kitchen = order.kitchen
        if kitchen.lat is None or kitchen.lng is None:  # approved kitchens always have one
            logger.error("order %s: kitchen %s has no location; no delivery opened", order.pk, kitchen.pk)
            return
        delivery_open(
            reference=reference,
            pickup=Point(kitchen.lat, kitchen.lng),
            pickup_address=kitchen.address,
            dropoff=Point(order.delivery_lat, order.delivery_lng),
            dropoff_address=order.delivery_address,
            instructions=order.delivery_instructions,
            phone=order.delivery_phone,
            expected_ready_at=at + timedelta(minutes=order.prep_minutes or kitchen.prep_minutes or 0),
        )
    elif order.status == S.READY_FOR_PICKUP:
        delivery_mark_ready(reference=reference, at=at)
    elif order.status == S.CANCELLED and previous in (S.ACCEPTED, S.READY_FOR_PICKUP):
        delivery_cancel(reference=reference, at=at)


def status_to_channel(*, reference: str, status: str, at: datetime) -> None:
    """Show a committed move on the order's tracking channel (a ``status`` event
    ``{status, at}``, final for ``delivered`` and ``cancelled``), for the customer's
    stream. Called after commit, straight from the process that moved the order: the
    stream shows it within milliseconds, with no broker or worker in between. Redis
    unreachable does not fail the move (it is committed already): the event is
    logged as lost; a stream opened later reads the status from the database."""
    data = {"status": status, "at": DateTimeField().to_representation(at)}
    try:
        channel_publish(reference=reference, kind=STATUS, data=data, final=status in FINAL_STATUSES)
    except ChannelUnavailable:
        logger.warning("order %s: %s not shown on the tracking channel (redis unavailable)", reference, status)


def _event_for(order: Order, *, previous: str, at: datetime) -> Event | None:
    """The announcement of the move ``order`` just made (None: nobody needs it)."""
    ids = {"order_id": str(order.pk), "customer_id": str(order.customer_id)}
    kitchen = {"kitchen_id": str(order.kitchen_id)}
    money = {"total_cents": order.total_cents, "currency": order.currency}
    prep = order.prep_minutes or 0
    builders = {
        S.PAID: lambda: events.OrderPaid(**ids, **kitchen, **money, accept_by=_iso(order.accept_by)),
        S.ACCEPTED: lambda: events.OrderAccepted(
            **ids, **kitchen, prep_minutes=prep, ready_by=_iso(at + timedelta(minutes=prep))
        ),
        S.READY_FOR_PICKUP: lambda: events.OrderReady(order_id=str(order.pk), **kitchen),
        S.PICKED_UP: lambda: events.OrderPickedUp(**ids, at=_iso(at)),
        S.DELIVERED: lambda: events.OrderDelivered(**ids, at=_iso(at)),
        S.CANCELLED: lambda: events.OrderCancelled(
            **ids,
            **kitchen,
            **money,
            previous_status=previous,
            cancelled_by=order.cancelled_by,
            reason=order.cancellation_reason,
            money=order.money_outcome,
        ),
    }
    build = builders.get(order.status)
    return build() if build is not None else None


def portions_release_locked(order: Order) -> bool:
    """Give the order's portions back to the stock of the day they were taken from,
    once (``portions_released_at`` on the locked row); whether it happened now."""
    if order.portions_released_at is not None:
        return False
    dish_portions_release(
        items=[(line.dish_id, line.quantity) for line in order.lines.all()], stock_date=order.stock_date
    )
    order.portions_released_at = timezone.now()
    order.save(update_fields=["portions_released_at", "updated_at"])
    return True


def order_cancel_locked(order: Order, *, actor: str, reason: str) -> None:
    """Cancel a locked order and release its portions (the money is dealt with by
    the caller, after commit, holding no lock)."""
    order_move_locked(order, S.CANCELLED, actor=actor, reason=reason)
    portions_release_locked(order)
