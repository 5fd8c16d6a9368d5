"""What tracking announces. ``reference`` is the opaque id the delivery was opened
for (the order id); handlers look their own object up by it."""

from dataclasses import dataclass

from foodiefast.events import Event


@dataclass(frozen=True)
class DeliveryClaimed(Event):
    """A courier claimed the delivery (``distance_km`` from their last position to
    the kitchen, or None when they never gave one)."""

    reference: str
    delivery_id: str
    courier_id: str
    at: str  # ISO 8601, UTC
    distance_km: float | None = None


@dataclass(frozen=True)
class DeliveryPickedUp(Event):
    """The assigned courier picked the order up at the kitchen."""

    reference: str
    delivery_id: str
    courier_id: str
    at: str  # ISO 8601, UTC


@dataclass(frozen=True)
class DeliveryCompleted(Event):
    """The courier handed the order over at the door."""

    reference: str
    delivery_id: str
    courier_id: str
    at: str  # ISO 8601, UTC
