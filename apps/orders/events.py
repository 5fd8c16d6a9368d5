"""What orders announces (notifications hook onto these). Ids are strings, times
ISO 8601 in UTC, money integer cents."""

from dataclasses import dataclass

from foodiefast.events import Event


@dataclass(frozen=True)
class OrderPaid(Event):
    """The card was authorized: the chef has until ``accept_by`` to accept."""

    order_id: str
    customer_id: str
    kitchen_id: str
    total_cents: int
    currency: str
    accept_by: str


@dataclass(frozen=True)
class OrderAccepted(Event):
    order_id: str
    customer_id: str
    kitchen_id: str
    prep_minutes: int
    ready_by: str


@dataclass(frozen=True)
class OrderReady(Event):
    order_id: str
    kitchen_id: str


@dataclass(frozen=True)
class OrderPickedUp(Event):
    order_id: str
    customer_id: str
    at: str


@dataclass(frozen=True)
class OrderDelivered(Event):
    order_id: str
    customer_id: str
    at: str


@dataclass(frozen=True)
class OrderCancelled(Event):
    """``cancelled_by`` is an :class:`~apps.orders.models.Actor`; ``money`` a
    :class:`~apps.orders.models.MoneyOutcome` (none, voided, refunded)."""

    order_id: str
    customer_id: str
    kitchen_id: str
    previous_status: str
    cancelled_by: str
    reason: str
    money: str
    total_cents: int
    currency: str
