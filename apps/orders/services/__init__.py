"""Every write of orders, by sub-domain: checkout, the order's life, the moves that
follow news (payments, tracking, timers, erasure), staff's refunds, reviews. ``status.py`` holds the
one way an order changes status."""

from apps.orders.services.checkout import Placed, order_place, service_fee_for
from apps.orders.services.lifecycle import (
    order_accept,
    order_cancel_by_customer,
    order_cancel_by_staff,
    order_mark_ready,
    order_reject,
    order_settle_money,
)
from apps.orders.services.news import (
    order_customer_erased,
    order_delivery_moved,
    order_payment_authorized,
    order_payment_captured,
    orders_cancel_unaccepted,
    orders_expire_unpaid,
)
from apps.orders.services.refunds import order_payment_refunded, order_refund_by_staff, order_refund_record
from apps.orders.services.reviews import order_review
from apps.orders.services.share import order_share, order_share_revoke

__all__ = [
    "Placed",
    "order_accept",
    "order_cancel_by_customer",
    "order_cancel_by_staff",
    "order_customer_erased",
    "order_delivery_moved",
    "order_mark_ready",
    "order_payment_authorized",
    "order_payment_captured",
    "order_payment_refunded",
    "order_place",
    "order_refund_by_staff",
    "order_refund_record",
    "order_reject",
    "order_review",
    "order_settle_money",
    "order_share",
    "order_share_revoke",
    "orders_cancel_unaccepted",
    "orders_expire_unpaid",
    "service_fee_for",
]
