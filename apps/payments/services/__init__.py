"""Every write of payments, by sub-domain.

The rule that shapes them all: never call the provider while holding a row lock.
Each use case records its intention in a short transaction, calls the gateway
holding nothing, then records the answer in another short transaction that locks
the payment row. ``status.py`` holds the one status logic every path goes through.
"""

from apps.payments.services.payments import (
    payment_cancel,
    payment_capture,
    payment_open,
    payment_reconcile,
    payment_start,
)
from apps.payments.services.refunds import payment_refund, payment_sync_refunds
from apps.payments.services.status import payment_sync_from_provider
from apps.payments.services.webhooks import stripe_event_process, stripe_event_record

__all__ = [
    "payment_cancel",
    "payment_capture",
    "payment_open",
    "payment_reconcile",
    "payment_refund",
    "payment_start",
    "payment_sync_from_provider",
    "payment_sync_refunds",
    "stripe_event_process",
    "stripe_event_record",
]
