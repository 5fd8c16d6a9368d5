"""The order's life after checkout: the customer's cancel, the chef's accept, reject
and ready, staff's cancel, and the moves that follow news from payments, tracking
and the timers.

Each move locks the order row in a short transaction (:mod:`.status`); the payment
provider is called only after that transaction, holding nothing.
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.db import transaction
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.orders.errors import OrderInvalidTransition
from apps.orders.models import CUSTOMER_CANCELLABLE, Actor, Order, OrderStatus
from apps.orders.services.status import order_cancel_locked, order_lock, order_move_locked
from apps.payments.errors import (
    PaymentCaptureFailed,
    PaymentNotCancelable,
    PaymentNotCapturable,
    PaymentNotFound,
    PaymentProviderUnavailable,
    RefundFailed,
)
from apps.payments.services import payment_cancel, payment_capture, payment_refund

logger = logging.getLogger("apps.orders")

S = OrderStatus
CAPTURE_REFUSED = "The payment could not be captured."


def order_settle_money(*, order_id: UUID | str) -> None:
    """A cancelled order keeps no money: void the card hold (or drop the payment
    before any card), or refund a captured payment. Idempotent; holds no lock while
    calling the provider. A provider outage leaves the wish recorded in payments,
    whose reconcile sweep finishes it."""
    reference = str(order_id)
    try:
        payment_cancel(reference=reference)
    except PaymentNotFound:
        return
    except PaymentNotCancelable:
        try:
            payment_refund(reference=reference)
        except (PaymentProviderUnavailable, RefundFailed) as exc:
            logger.warning("order %s: refund not made yet: %r", reference, exc)
    except PaymentProviderUnavailable as exc:
        logger.warning("order %s: void not made yet (reconcile finishes it): %r", reference, exc)


def order_cancel_by_customer(*, customer: User, order_id: UUID | str) -> Order:
    """The customer cancels before the chef accepted: the order is cancelled and its
    portions released (once), then the card hold is voided. Cancelling a cancelled
    order changes nothing. Raises ``OrderNotFound`` (not theirs) and
    ``OrderInvalidTransition`` (accepted or later)."""
    with transaction.atomic():
        order = order_lock(order_id=order_id, customer=customer)
        if order.status == S.CANCELLED:
            return order
        if order.status not in CUSTOMER_CANCELLABLE:
            raise OrderInvalidTransition(_("The chef already accepted this order; contact support to cancel it."))
        order_cancel_locked(order, actor=Actor.CUSTOMER, reason="Cancelled by the customer.")
    order_settle_money(order_id=order.pk)
    return order


def order_cancel_by_staff(*, order_id: UUID | str, reason: str) -> Order:
    """Staff cancel any order not delivered yet (a support case), voiding or
    refunding its payment. Raises ``OrderInvalidTransition`` for a delivered or
    picked-up order; a cancelled one is returned as is."""
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        if order.status != S.CANCELLED:
            order_cancel_locked(order, actor=Actor.STAFF, reason=reason or "Cancelled by support.")
    order_settle_money(order_id=order.pk)
    return order


def _chef_order(chef: User, order_id: UUID | str, *, expected: str) -> Order:
    """Lock the chef's own order and check it is in ``expected`` status (in the
    caller's transaction). Raises ``OrderNotFound`` and ``OrderInvalidTransition``."""
    order = order_lock(order_id=order_id, kitchen__chef=chef)
    if order.status != expected:
        raise OrderInvalidTransition(
            _("This needs an order that is “%(expected)s”; this one is “%(status)s”.")
            % {"expected": OrderStatus(expected).label, "status": order.get_status_display()}
        )
    return order


def order_accept(*, chef: User, order_id: UUID | str, prep_minutes: int | None = None) -> Order:
    """The chef accepts a paid order, which captures its payment.

    The order is locked and checked, released; the capture is asked holding no lock;
    then the order is locked again and moved to ``accepted`` (announcing
    ``OrderAccepted``). A capture the provider refuses cancels the order (portions
    back, ``OrderCancelled``) and raises ``PaymentCaptureFailed``; an unreachable
    provider raises ``PaymentProviderUnavailable`` and the order stays paid (the chef
    may try again). Raises ``OrderNotFound`` and ``OrderInvalidTransition``."""
    with transaction.atomic():
        order = _chef_order(chef, order_id, expected=S.PAID)
    try:
        payment_capture(reference=str(order.pk))
    except PaymentCaptureFailed:
        with transaction.atomic():
            order = order_lock(order_id=order.pk)
            if order.status == S.PAID:
                order_cancel_locked(order, actor=Actor.PAYMENT, reason=CAPTURE_REFUSED)
        order_settle_money(order_id=order.pk)
        raise
    except (PaymentNotCapturable, PaymentNotFound) as exc:
        # The order died meanwhile (the customer cancelled, the timer ran out).
        raise OrderInvalidTransition(_("This order can no longer be accepted.")) from exc
    with transaction.atomic():
        order = order_lock(order_id=order.pk)
        if order.status != S.PAID:
            needs_refund = order.status == S.CANCELLED
        else:
            needs_refund = False
            order_move_locked(
                order, S.ACCEPTED, actor=Actor.CHEF, prep_minutes=prep_minutes or order.kitchen.prep_minutes
            )
    if needs_refund:  # cancelled while the capture was under way: the money goes back
        order_settle_money(order_id=order.pk)
        raise OrderInvalidTransition(_("This order was cancelled meanwhile; the payment is refunded."))
    return order


def order_reject(*, chef: User, order_id: UUID | str, reason: str) -> Order:
    """The chef turns a paid order down: cancelled with ``reason``, portions back,
    then the card hold voided (nothing was captured)."""
    with transaction.atomic():
        order = _chef_order(chef, order_id, expected=S.PAID)
        order_cancel_locked(order, actor=Actor.CHEF, reason=reason)
    order_settle_money(order_id=order.pk)
    return order


def order_mark_ready(*, chef: User, order_id: UUID | str) -> Order:
    """``accepted → ready_for_pickup`` for the chef's own order."""
    with transaction.atomic():
        order = _chef_order(chef, order_id, expected=S.ACCEPTED)
        order_move_locked(order, S.READY_FOR_PICKUP, actor=Actor.CHEF)
    return order
