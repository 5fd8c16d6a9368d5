"""What a shared live link shows, and nothing more: the privacy rule of ``/t/{token}``
and its stream (API.md, "share").

The page and the stream carry no address, no customer name, no contact detail, only
the courier's first name; the kitchen and the drop-off as points rounded to
:data:`ROUNDING` decimals (about 100 m); the courier's position, except within
:data:`HIDDEN_WITHIN_M` metres of the drop-off, where the courier is only said to be
"arriving" (the exact spot would give the door away). Events are rebuilt from an
allow-list of fields, so a field added to the channel later is not shown by accident.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from apps.orders.models import FINAL_STATUSES
from apps.tracking.channel import LOCATION, STATUS, ChannelEvent
from foodiefast import ratelimit
from foodiefast.geo import Point, haversine_km

ROUNDING = 3
HIDDEN_WITHIN_M = 200
_STATUS_FIELDS = ("status", "at")
_LOCATION_FIELDS = ("updated_at", "eta_minutes", "estimated_arrival_at")


def rounded(point: Point) -> Point:
    return Point(round(point.lat, ROUNDING), round(point.lng, ROUNDING))


def expires_at(*, status: str, ended_at: dt.datetime | None) -> dt.datetime | None:
    """When a link to an order in ``status`` stops working: never while the order
    runs, ``SHARE_LINK_HOURS_AFTER_END`` after it ended."""
    if status not in FINAL_STATUSES or ended_at is None:
        return None
    return ended_at + dt.timedelta(hours=settings.SHARE_LINK_HOURS_AFTER_END)


def courier_arriving(*, lat: float, lng: float, dropoff: Point) -> bool:
    """Whether a courier at (lat, lng) is close enough to the drop-off to be hidden."""
    return haversine_km(Point(lat, lng), dropoff) * 1000 <= HIDDEN_WITHIN_M


@dataclass(frozen=True)
class Privacy:
    """The rule for one order: its exact drop-off, known to the server only."""

    dropoff: Point

    def location(self, data: dict) -> dict:
        shown = {name: data.get(name) for name in _LOCATION_FIELDS}
        lat, lng = data.get("lat"), data.get("lng")
        if not isinstance(lat, int | float) or not isinstance(lng, int | float):
            return {**shown, "lat": None, "lng": None, "arriving": False}
        if courier_arriving(lat=lat, lng=lng, dropoff=self.dropoff):
            return {**shown, "lat": None, "lng": None, "arriving": True}
        return {**shown, "lat": lat, "lng": lng, "arriving": False}

    def event(self, event: ChannelEvent) -> ChannelEvent | None:
        """``event`` as a shared link shows it; None for a kind it never shows."""
        if event.kind == STATUS:
            data = {name: event.data.get(name) for name in _STATUS_FIELDS}
        elif event.kind == LOCATION:
            data = self.location(event.data)
        else:
            return None
        return ChannelEvent(id=event.id, kind=event.kind, data=data, final=event.final)


def page_throttled(client: str) -> int | None:
    """Count one request of ``client`` (an address) to a shared page or its stream:
    the seconds to wait once it passed ``SHARE_PAGE_REQUESTS_PER_MINUTE``, else None.
    Throttles fail open when the cache is unreachable (:mod:`foodiefast.ratelimit`)."""
    key = ratelimit.key_for("share_page", client)
    ratelimit.hit(key, window_seconds=60)
    return ratelimit.retry_after(key, limit=settings.SHARE_PAGE_REQUESTS_PER_MINUTE + 1)
