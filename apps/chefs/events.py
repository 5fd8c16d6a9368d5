"""What chefs announces."""

from dataclasses import dataclass

from django.dispatch import Signal

from foodiefast.events import Event

# Something customers browse of a kitchen changed (its profile, hours, approval,
# withdrawal). Sent in-process by :func:`apps.chefs.services.catalog_changed`, inside
# the writing transaction, to whoever caches what customers browse (menus' browse
# cache bumps its catalog version once the transaction commits). Not an event of the
# outbox: a cache must learn of the change when it commits, not when a worker runs.
kitchen_listing_changed = Signal()


@dataclass(frozen=True)
class KitchenApproved(Event):
    kitchen_id: str
    chef_id: str
