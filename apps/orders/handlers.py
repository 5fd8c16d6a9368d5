"""What orders does when a lower app announces something (run by the outbox in the
worker, idempotent, database work only)."""

from __future__ import annotations

from apps.accounts.events import UserErased
from apps.orders import services
from apps.orders.models import OrderStatus
from apps.payments.events import PaymentAuthorized, PaymentCaptured, PaymentRefunded
from apps.tracking.events import DeliveryCompleted, DeliveryPickedUp


def paid_on_payment_authorized(event: PaymentAuthorized) -> None:
    services.order_payment_authorized(reference=event.reference)


def refund_on_payment_captured_for_cancelled(event: PaymentCaptured) -> None:
    services.order_payment_captured(reference=event.reference)


def audit_on_payment_refunded(event: PaymentRefunded) -> None:
    services.order_payment_refunded(
        reference=event.reference, payment_refund_id=event.refund_id, amount_cents=event.amount_cents
    )


def picked_up_on_delivery_picked_up(event: DeliveryPickedUp) -> None:
    services.order_delivery_moved(reference=event.reference, target=OrderStatus.PICKED_UP, at=event.at)


def delivered_on_delivery_completed(event: DeliveryCompleted) -> None:
    services.order_delivery_moved(reference=event.reference, target=OrderStatus.DELIVERED, at=event.at)


def anonymise_on_user_erased(event: UserErased) -> None:
    services.order_customer_erased(user_id=event.user_id)
