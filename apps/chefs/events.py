"""What chefs announces."""

from dataclasses import dataclass

from foodiefast.events import Event


@dataclass(frozen=True)
class KitchenApproved(Event):
    kitchen_id: str
    chef_id: str
