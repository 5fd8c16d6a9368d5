"""Reads of orders with their visibility rules: the customer's, the chef's, and the
payment block an order shows."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from django.db.models import Prefetch, QuerySet

from apps.accounts.models import User
from apps.orders.errors import OrderNotFound
from apps.orders.models import CHEF_VISIBLE_STATUSES, Order, OrderEvent, OrderLine, OrderStatus
from apps.payments.selectors import Checkout, payment_checkouts_for


def _with_details(orders: QuerySet[Order]) -> QuerySet[Order]:
    """What rendering an order needs, in a fixed number of queries however many orders."""
    return orders.select_related("kitchen").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("id")),
        Prefetch("events", queryset=OrderEvent.objects.order_by("at", "id")),
    )


def order_list_for_customer(*, customer: User) -> QuerySet[Order]:
    """The customer's orders, newest first."""
    return _with_details(Order.objects.filter(customer=customer)).order_by("-created_at", "-id")


def order_get_for_customer(*, customer: User, order_id: UUID | str) -> Order:
    """The customer's own order; raises ``OrderNotFound`` for anyone else's."""
    order = _with_details(Order.objects.filter(customer=customer, pk=order_id)).first()
    if order is None:
        raise OrderNotFound()
    return order


def order_list_for_chef(*, chef: User, status: str | None = None) -> QuerySet[Order]:
    """The chef's kitchen's orders from ``paid`` on (never one still waiting for
    payment), newest first; ``status`` narrows them."""
    statuses = [status] if status else sorted(CHEF_VISIBLE_STATUSES)
    orders = Order.objects.filter(kitchen__chef=chef, status__in=statuses)
    # A cancelled order the chef never saw (it died unpaid) is not theirs to see.
    orders = orders.exclude(status=OrderStatus.CANCELLED, paid_at__isnull=True)
    return _with_details(orders).order_by("-created_at", "-id")


def order_get_for_chef(*, chef: User, order_id: UUID | str) -> Order:
    order = order_list_for_chef(chef=chef).filter(pk=order_id).first()
    if order is None:
        raise OrderNotFound()
    return order


def payment_blocks_for(orders: list[Order]) -> dict[str, Checkout]:
    """The ``payment`` block of each order, by order id, in one query. The client
    secret is in it only while the order can still be paid."""
    checkouts = payment_checkouts_for(references=[str(order.pk) for order in orders])
    for order in orders:
        checkout = checkouts.get(str(order.pk))
        if checkout is not None and order.status != OrderStatus.PENDING_PAYMENT and checkout.client_secret:
            checkouts[str(order.pk)] = _without_secret(checkout)
    return checkouts


def _without_secret(checkout: Checkout) -> Checkout:
    return replace(checkout, client_secret=None)
