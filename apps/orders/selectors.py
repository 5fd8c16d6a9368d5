"""Reads of orders with their visibility rules: the customer's, the chef's, and the
payment block an order shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.orders import sharing
from apps.orders.errors import OrderNotFound, ShareExpired, ShareNotFound
from apps.orders.models import (
    CHEF_VISIBLE_STATUSES,
    FINAL_STATUSES,
    OPEN_STATUSES,
    Order,
    OrderEvent,
    OrderLine,
    OrderShare,
    OrderStatus,
)
from apps.payments.selectors import Checkout, payment_checkouts_for
from apps.tracking.selectors import CourierShown, Eta, delivery_tracking
from foodiefast.geo import Point


def _with_details(orders: QuerySet[Order]) -> QuerySet[Order]:
    """What rendering an order needs, in a fixed number of queries however many orders."""
    return orders.select_related("kitchen").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("id")),
        Prefetch("events", queryset=OrderEvent.objects.order_by("at", "id")),
    )


def order_with_details(order: Order, *, lines: list[OrderLine], events: list[OrderEvent]) -> Order:
    """An order this process has just written, holding the lines and timeline rows it
    was written with as :func:`_with_details` would have read them (in insertion
    order), so that rendering it reads nothing back."""
    # Django answers order.lines.all() and order.events.all() from its prefetch cache.
    order._prefetched_objects_cache = {"lines": lines, "events": events}
    return order


def order_list_for_customer(*, customer: User) -> QuerySet[Order]:
    """The customer's orders, newest first."""
    return _with_details(Order.objects.filter(customer=customer)).order_by("-created_at", "-id")


def order_get_for_customer(*, customer: User, order_id: UUID | str) -> Order:
    """The customer's own order; raises ``OrderNotFound`` for anyone else's."""
    order = _with_details(Order.objects.filter(customer=customer, pk=order_id)).first()
    if order is None:
        raise OrderNotFound()
    return order


def _with_status_at(orders: QuerySet[Order]) -> QuerySet:
    return orders.annotate(status_at=Max("events__at")).values_list("pk", "status", "status_at", "updated_at")


def order_status_for_customer(*, customer: User, order_id: UUID | str) -> tuple[str, dt.datetime]:
    """The status of the customer's own order and when it took it (one query);
    raises ``OrderNotFound`` for anyone else's."""
    found = _with_status_at(Order.objects.filter(customer=customer, pk=order_id)).first()
    if found is None:
        raise OrderNotFound()
    _, status, status_at, updated_at = found
    return status, status_at or updated_at


def order_statuses(*, order_ids: list[str]) -> dict[str, tuple[str, dt.datetime]]:
    """The status of each order and when it took it (one query), by id as a string."""
    rows = _with_status_at(Order.objects.filter(pk__in=order_ids))
    return {str(pk): (status, status_at or updated_at) for pk, status, status_at, updated_at in rows}


def order_list_for_chef(*, chef: User, status: str | None = None) -> QuerySet[Order]:
    """The chef's kitchen's orders from ``paid`` on (never one still waiting for
    payment), newest first; ``status`` narrows them."""
    orders = _chef_visible(Order.objects.filter(kitchen__chef=chef))
    if status:
        orders = orders.filter(status=status)
    return _with_details(orders).order_by("-created_at", "-id")


def _chef_visible(orders: QuerySet[Order]) -> QuerySet[Order]:
    # A cancelled order the chef never saw (it died unpaid) is not theirs to see.
    orders = orders.filter(status__in=CHEF_VISIBLE_STATUSES)
    return orders.exclude(status=OrderStatus.CANCELLED, paid_at__isnull=True)


def order_board(*, chef: User | None = None, kitchen_id: UUID | str | None = None) -> list[Order]:
    """The order board's orders, oldest first: every open order (paid, accepted,
    ready) of the chef's kitchen, whatever its day, and those finished (picked up,
    delivered, cancelled) or placed today, Paris time. ``chef`` narrows to their
    kitchen (a chef's board), ``kitchen_id`` to one kitchen (staff's filter); neither:
    every kitchen's."""
    paris = ZoneInfo(settings.LOCAL_TIME_ZONE)
    midnight = timezone.localtime(timezone.now(), paris).replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight.astimezone(dt.UTC)
    orders = _chef_visible(Order.objects.all())
    if chef is not None:
        orders = orders.filter(kitchen__chef=chef)
    if kitchen_id is not None:
        orders = orders.filter(kitchen_id=kitchen_id)
    orders = orders.filter(Q(status__in=OPEN_STATUSES) | Q(created_at__gte=start) | Q(updated_at__gte=start)).order_by(
        "created_at", "id"
    )
    return list(_with_details(orders))


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


def order_count_by_status() -> dict[str, int]:
    """How many orders are in each status before the end now (one grouped count;
    delivered and cancelled orders are left out: they only grow, and their number
    tells nothing about now)."""
    ongoing = [status for status in OrderStatus if status not in FINAL_STATUSES]
    counts = dict.fromkeys(ongoing, 0)
    rows = Order.objects.filter(status__in=ongoing).values_list("status").annotate(n=Count("id")).order_by()
    counts.update(dict(rows))
    return counts


@dataclass(frozen=True)
class OrderTracking:
    """What ``GET /orders/{id}/tracking`` shows: the order's status, the courier
    (None before assignment and once the order ended), the ETA, the two points."""

    status: str
    courier: CourierShown | None
    eta: Eta
    pickup: tuple[float, float] | None
    dropoff: tuple[float, float]


def order_tracking_for_customer(*, customer: User, order_id: UUID | str) -> OrderTracking:
    """The customer's own order's tracking, in every status; raises ``OrderNotFound``
    for anyone else's. Two queries (the order and its kitchen, the delivery), three
    when Redis has no position for the courier."""
    order = Order.objects.select_related("kitchen").filter(customer=customer, pk=order_id).first()
    if order is None:
        raise OrderNotFound()
    kitchen = order.kitchen
    pickup = (kitchen.lat, kitchen.lng) if kitchen.lat is not None and kitchen.lng is not None else None
    dropoff = (order.delivery_lat, order.delivery_lng)
    if order.status in FINAL_STATUSES:
        return OrderTracking(status=order.status, courier=None, eta=Eta.unknown(), pickup=pickup, dropoff=dropoff)
    tracking = delivery_tracking(reference=str(order.pk))
    return OrderTracking(
        status=order.status, courier=tracking.courier, eta=tracking.eta, pickup=pickup, dropoff=dropoff
    )


def order_ended_at(order: Order, events: list[OrderEvent]) -> dt.datetime | None:
    """When the order took its final status (None while it runs)."""
    if order.status not in FINAL_STATUSES:
        return None
    ends = [event.at for event in events if event.status == order.status]
    return ends[-1] if ends else order.updated_at


def share_expires_at(order: Order) -> dt.datetime | None:
    """When a live link to ``order`` stops working (None while it runs)."""
    events = list(order.events.all()) if order.status in FINAL_STATUSES else []
    return sharing.expires_at(status=order.status, ended_at=order_ended_at(order, events))


@dataclass(frozen=True)
class SharedOrder:
    """An order as its live link shows it (see :mod:`apps.orders.sharing`): no
    address, no name, rounded points. ``privacy`` holds the exact drop-off for the
    server's own use (hiding the courier near it) and is never rendered."""

    order_id: str
    status: str
    status_at: dt.datetime
    timeline: list[tuple[str, dt.datetime]]
    kitchen_name: str
    pickup: Point | None
    dropoff: Point
    expires_at: dt.datetime | None
    privacy: sharing.Privacy


def shared_order_get(*, token: str, now: dt.datetime | None = None) -> SharedOrder:
    """The order behind a live link's ``token`` (two queries); raises
    ``ShareNotFound`` for an unknown or revoked token, ``ShareExpired`` once the
    link's time after the order's end has passed."""
    share = (
        OrderShare.objects.select_related("order__kitchen")
        .prefetch_related(Prefetch("order__events", queryset=OrderEvent.objects.order_by("at", "id")))
        .filter(token=token)
        .first()
    )
    if share is None:
        raise ShareNotFound()
    order = share.order
    events = list(order.events.all())
    expires = sharing.expires_at(status=order.status, ended_at=order_ended_at(order, events))
    if expires is not None and expires <= (now or timezone.now()):
        raise ShareExpired()
    kitchen = order.kitchen
    exact_dropoff = Point(order.delivery_lat, order.delivery_lng)
    return SharedOrder(
        order_id=str(order.pk),
        status=order.status,
        status_at=events[-1].at if events else order.updated_at,
        timeline=[(event.status, event.at) for event in events],
        kitchen_name=kitchen.display_name,
        pickup=sharing.rounded(Point(kitchen.lat, kitchen.lng)) if kitchen.lat is not None else None,
        dropoff=sharing.rounded(exact_dropoff),
        expires_at=expires,
        privacy=sharing.Privacy(dropoff=exact_dropoff),
    )
