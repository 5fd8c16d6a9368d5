"""Geometry on the WGS 84 sphere: exact enough for city distances (well under 100 m)."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LAT = 111.32


@dataclass(frozen=True)
class Point:
    lat: float
    lng: float

    def __post_init__(self) -> None:
        if not is_valid(self.lat, self.lng):
            raise ValueError(f"Impossible coordinates: {self.lat}, {self.lng}")


def is_valid(lat: float | None, lng: float | None) -> bool:
    return (
        lat is not None
        and lng is not None
        and math.isfinite(lat)
        and math.isfinite(lng)
        and -90 <= lat <= 90
        and -180 <= lng <= 180
    )


def haversine_km(a: Point, b: Point) -> float:
    """Great-circle distance in kilometres."""
    lat1, lng1, lat2, lng2 = map(math.radians, (a.lat, a.lng, b.lat, b.lng))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class BoundingBox:
    min_lat: float
    max_lat: float
    min_lng: float
    max_lng: float


def bounding_box(center: Point, radius_km: float) -> BoundingBox:
    """A lat/lng box containing every point within ``radius_km`` of ``center``, for an
    index-friendly first filter before the exact distance."""
    dlat = radius_km / KM_PER_DEGREE_LAT
    cos_lat = max(math.cos(math.radians(center.lat)), 1e-6)
    dlng = min(180.0, radius_km / (KM_PER_DEGREE_LAT * cos_lat))
    return BoundingBox(
        min_lat=max(-90.0, center.lat - dlat),
        max_lat=min(90.0, center.lat + dlat),
        min_lng=max(-180.0, center.lng - dlng),
        max_lng=min(180.0, center.lng + dlng),
    )


def travel_minutes(distance_km: float, speed_kmh: float) -> int:
    """Whole minutes to cover ``distance_km`` at ``speed_kmh``, rounded up."""
    return max(0, math.ceil(distance_km / speed_kmh * 60))
