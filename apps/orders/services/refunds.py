"""Staff's refunds of an order that left the kitchen (picked up or delivered): a
support case after the fact, in full or in part, with a reason.

An :class:`~apps.orders.models.OrderRefund` row records the wish under the order's
lock; payments makes the refund holding no lock (keyed by that row, so the same refund
asked twice is made once, and never above what is left); the outcome is recorded
under the lock again, with the customer's mail. The order's status does not change.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.orders.errors import OrderInvalidTransition, RefundInProgress
from apps.orders.models import REFUND_KEY_PREFIX, Order, OrderRefund, OrderStatus, RefundStatus
from apps.orders.services.news import order_of_reference
from apps.orders.services.notifications import order_notify_refund_locked
from apps.orders.services.status import order_lock
from apps.payments.errors import PaymentProviderUnavailable
from apps.payments.models import Refund as PaymentRefund
from apps.payments.services import payment_refund
from foodiefast.errors import DomainError

logger = logging.getLogger("apps.orders")

S = OrderStatus
# Earlier orders are cancelled instead (order_cancel_by_staff), which refunds in full.
REFUNDABLE_STATUSES = frozenset({S.PICKED_UP, S.DELIVERED})
CLAIM = timedelta(seconds=30)
PROVIDER_REFUND_REASON = "Refunded at the payment provider."


def order_refund_by_staff(
    *, order_id: UUID | str, refund_id: UUID | str, staff: User, reason: str, amount_cents: int | None = None
) -> OrderRefund:
    """Refund ``amount_cents`` (None: everything left) of a picked-up or delivered
    order. ``refund_id`` names this refund (the admin's form carries it): asked again,
    a refund that succeeded is returned as is, one that failed or could not reach the
    provider is tried again with the same key, one under way raises ``RefundInProgress``.
    Locks the order to record the wish and the outcome, never while calling payments.
    On success the customer is mailed. Raises ``OrderNotFound``,
    ``OrderInvalidTransition`` (not picked up or delivered), and payments' errors
    (``RefundExceedsCaptured``, ``RefundFailed``, ``PaymentNotRefundable``,
    ``PaymentProviderUnavailable``), the refund then recorded as refused or left
    pending."""
    now = timezone.now()
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        refund = OrderRefund.objects.select_for_update().filter(pk=refund_id, order=order).first()
        if refund is None:
            if OrderRefund.objects.filter(pk=refund_id).exists():
                raise OrderInvalidTransition("This refund was asked for another order.")
            if order.status not in REFUNDABLE_STATUSES:
                raise OrderInvalidTransition(
                    f"Only a picked-up or delivered order is refunded this way; this one is {order.status}."
                )
            refund = OrderRefund.objects.create(
                id=refund_id,
                order=order,
                requested_cents=amount_cents,
                currency=order.currency,
                reason=reason[:500],
                requested_by=staff,
            )
        elif refund.status == RefundStatus.SUCCEEDED:
            return refund
        elif refund.claimed_until is not None and refund.claimed_until > now:
            raise RefundInProgress()
        refund.status, refund.error, refund.claimed_until = RefundStatus.PENDING, "", now + CLAIM
        refund.save(update_fields=["status", "error", "claimed_until", "updated_at"])
    try:
        made = payment_refund(reference=str(order.pk), amount_cents=refund.requested_cents, key=refund.payment_key)
    except PaymentProviderUnavailable:
        OrderRefund.objects.filter(pk=refund.pk).update(claimed_until=None, updated_at=timezone.now())
        raise
    except DomainError as exc:
        OrderRefund.objects.filter(pk=refund.pk, status=RefundStatus.PENDING).update(
            status=RefundStatus.FAILED, error=str(exc.detail)[:255], claimed_until=None, updated_at=timezone.now()
        )
        raise
    return order_refund_record(
        order_id=order.pk, refund_id=refund.pk, amount_cents=made.amount_cents, payment_refund_id=str(made.pk)
    )


def order_refund_record(
    *, order_id: UUID | str, refund_id: UUID | str, amount_cents: int, payment_refund_id: str
) -> OrderRefund:
    """Record that payments made the refund ``refund_id`` (by the request that asked
    for it, or by payments' reconcile when the provider answered late), once: the
    amount, and the customer's mail. Locks the order."""
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        refund = OrderRefund.objects.select_for_update().get(pk=refund_id, order=order)
        if refund.status != RefundStatus.SUCCEEDED:
            refund.status, refund.error, refund.claimed_until = RefundStatus.SUCCEEDED, "", None
            refund.refunded_cents, refund.payment_refund_id = amount_cents, payment_refund_id
            refund.save()
            order_notify_refund_locked(order, refund, at=timezone.now())
            logger.info("order %s: refunded %s cents (%s)", order.pk, amount_cents, refund.pk)
    return refund


def order_payment_refunded(*, reference: str, payment_refund_id: str, amount_cents: int) -> None:
    """News from payments that money of an order went back (``PaymentRefunded``).
    A staff refund whose answer was lost (recorded later by payments' reconcile) is
    recorded now; a refund made at the provider itself (Stripe's dashboard) of an order
    that is not cancelled joins the order's audit, and the customer is mailed; the
    refund of a cancelled order is the cancellation's own (its mail said so).
    Idempotent."""
    order_id = order_of_reference(reference)
    if order_id is None:
        return
    key = PaymentRefund.objects.filter(pk=payment_refund_id).values_list("key", flat=True).first() or ""
    if key.startswith(REFUND_KEY_PREFIX):
        ours = OrderRefund.objects.filter(pk=key.removeprefix(REFUND_KEY_PREFIX), order_id=order_id).first()
        if ours is not None:
            order_refund_record(
                order_id=order_id, refund_id=ours.pk, amount_cents=amount_cents, payment_refund_id=payment_refund_id
            )
        return
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).filter(pk=order_id).first()
        if order is None or order.status == S.CANCELLED:
            return
        if order.refunds.filter(payment_refund_id=payment_refund_id).exists():
            return
        refund = OrderRefund.objects.create(
            order=order,
            requested_cents=amount_cents,
            refunded_cents=amount_cents,
            currency=order.currency,
            reason=PROVIDER_REFUND_REASON,
            status=RefundStatus.SUCCEEDED,
            payment_refund_id=payment_refund_id,
        )
        order_notify_refund_locked(order, refund, at=timezone.now())
