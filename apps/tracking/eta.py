"""When the food should reach the door: what is left of the preparation and the
distances at ``COURIER_SPEED_KMH``.

- Before pickup: the courier rides to the kitchen while the chef cooks, then to the
  door: ``max(preparation left, courier → kitchen) + kitchen → drop-off``. With no
  courier assigned yet, the ride to the kitchen is not counted (a lower bound). Food
  marked ready has no preparation left; food whose expected time has passed neither.
- After pickup: ``courier → drop-off``; unknown (None) without a courier position.
- Delivered, cancelled: None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from foodiefast.geo import Point, haversine_km

BEFORE_PICKUP = frozenset({"waiting", "claimed"})


@dataclass(frozen=True)
class Eta:
    minutes: int | None
    arrival_at: datetime | None

    @classmethod
    def unknown(cls) -> Eta:
        return cls(None, None)


def _ride_seconds(a: Point, b: Point) -> float:
    return haversine_km(a, b) / settings.COURIER_SPEED_KMH * 3600


def eta_of(
    *,
    phase: str,
    now: datetime,
    pickup: Point,
    dropoff: Point,
    courier: Point | None,
    ready_by: datetime | None,
    ready: bool,
) -> Eta:
    """The estimate for a delivery in ``phase`` (its status) at ``now``."""
    if phase in BEFORE_PICKUP:
        cooking = 0.0 if ready or ready_by is None else max(0.0, (ready_by - now).total_seconds())
        to_kitchen = _ride_seconds(courier, pickup) if courier is not None else 0.0
        seconds = max(cooking, to_kitchen) + _ride_seconds(pickup, dropoff)
    elif phase == "picked_up" and courier is not None:
        seconds = _ride_seconds(courier, dropoff)
    else:
        return Eta.unknown()
    return Eta(minutes=max(0, math.ceil(seconds / 60)), arrival_at=now + timedelta(seconds=round(seconds)))
