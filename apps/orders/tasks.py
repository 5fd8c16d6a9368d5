"""Celery tasks of orders (the ``orders`` queue): thin, idempotent."""

from __future__ import annotations

from celery import shared_task

from apps.orders import services


@shared_task
def order_settle_money_task(order_id: str) -> None:
    """Void or refund the payment of a cancelled order (idempotent; a provider
    outage leaves it to payments' reconcile)."""
    services.order_settle_money(order_id=order_id)


@shared_task
def orders_sweep_timers_task() -> dict[str, int]:
    """Beat, every few seconds: cancel unpaid orders past ``payment_due_at`` and paid
    ones past ``accept_by``. Safe to run twice at once (SKIP LOCKED, re-checked)."""
    return {
        "expired_unpaid": services.orders_expire_unpaid(),
        "cancelled_unaccepted": services.orders_cancel_unaccepted(),
    }
