"""Reads of kitchens shared by the chef API, browsing (menus) and the admin."""

from __future__ import annotations

import datetime as dt
import math

from django.db.models import Exists, ExpressionWrapper, F, FloatField, OuterRef, Q, QuerySet, Value
from django.db.models.functions import ASin, Cos, Least, Power, Radians, Sin, Sqrt

from apps.chefs.models import MAX_DELIVERY_RADIUS_KM, Kitchen, OpeningHours
from foodiefast.geo import EARTH_RADIUS_KM, Point, bounding_box
from foodiefast.localtime import local_now


def kitchen_listed_q(prefix: str = "") -> Q:
    """Kitchens customers may see: approved and not paused."""
    return Q(**{f"{prefix}is_approved": True, f"{prefix}is_paused": False})


def distance_km_expression(point: Point, *, prefix: str = "") -> ExpressionWrapper:
    """Exact great-circle distance (haversine) from ``point`` to a kitchen, in SQL.

    Django's math functions exist on PostgreSQL and on SQLite (embedded mode)."""
    lat, lng = F(f"{prefix}lat"), F(f"{prefix}lng")
    lat0, lng0 = math.radians(point.lat), math.radians(point.lng)
    half_dlat = Sin((Radians(lat) - Value(lat0)) / Value(2.0))
    half_dlng = Sin((Radians(lng) - Value(lng0)) / Value(2.0))
    h = Power(half_dlat, 2) + Value(math.cos(lat0)) * Cos(Radians(lat)) * Power(half_dlng, 2)
    return ExpressionWrapper(Value(2 * EARTH_RADIUS_KM) * ASin(Sqrt(Least(Value(1.0), h))), output_field=FloatField())


def bounding_box_q(point: Point, *, prefix: str = "") -> Q:
    """An index-friendly first filter: every kitchen that could deliver to ``point``."""
    box = bounding_box(point, MAX_DELIVERY_RADIUS_KM)
    return Q(
        **{
            f"{prefix}lat__gte": box.min_lat,
            f"{prefix}lat__lte": box.max_lat,
            f"{prefix}lng__gte": box.min_lng,
            f"{prefix}lng__lte": box.max_lng,
        }
    )


def local_week_position(at: dt.datetime | None = None) -> tuple[int, int]:
    """(weekday with Monday 0, minutes since local midnight) of ``at`` (default: now)."""
    now = at or local_now()
    return now.weekday(), now.hour * 60 + now.minute


def open_now_exists(*, kitchen_ref: str = "pk", at: dt.datetime | None = None) -> Exists:
    """SQL: the kitchen has an opening slot covering this local minute."""
    weekday, minute = local_week_position(at)
    return Exists(
        OpeningHours.objects.filter(
            kitchen=OuterRef(kitchen_ref), weekday=weekday, opens_minute__lte=minute, closes_minute__gt=minute
        )
    )


def open_now_sql(*, kitchen_column: str, at: dt.datetime | None = None) -> tuple[str, list[int]]:
    """Plain SQL twin of :func:`open_now_exists` for hand-written queries: a boolean
    expression on ``kitchen_column`` (a qualified column holding the kitchen id) and
    its parameters."""
    weekday, minute = local_week_position(at)
    table, meta = OpeningHours._meta.db_table, OpeningHours._meta
    column = {name: meta.get_field(name).column for name in ("kitchen", "weekday", "opens_minute", "closes_minute")}
    sql = (
        f'EXISTS (SELECT 1 FROM "{table}" AS "oh" WHERE "oh"."{column["kitchen"]}" = {kitchen_column}'  # noqa: S608
        f' AND "oh"."{column["weekday"]}" = %s AND "oh"."{column["opens_minute"]}" <= %s'
        f' AND "oh"."{column["closes_minute"]}" > %s)'
    )
    return sql, [weekday, minute, minute]


def is_open_at(slots: list[OpeningHours], at: dt.datetime | None = None) -> bool:
    """Python twin of :func:`open_now_exists` for already-loaded slots."""
    weekday, minute = local_week_position(at)
    return any(s.weekday == weekday and s.opens_minute <= minute < s.closes_minute for s in slots)


def kitchens_near(point: Point) -> QuerySet[Kitchen]:
    """Listed kitchens whose own delivery radius covers ``point``, nearest first,
    annotated with ``distance_km`` and ``is_open``. Bounding box first (index), then
    the exact distance."""
    return (
        Kitchen.objects.filter(kitchen_listed_q(), bounding_box_q(point))
        .annotate(distance_km=distance_km_expression(point), is_open=open_now_exists())
        .filter(distance_km__lte=F("delivery_radius_km"))
        .order_by("distance_km", "id")
    )


def kitchen_get_listed(*, kitchen_id) -> Kitchen | None:
    """A kitchen customers may see, with its opening hours loaded; None otherwise."""
    return Kitchen.objects.filter(kitchen_listed_q(), pk=kitchen_id).prefetch_related("opening_hours").first()


def opening_hours_for(*, kitchen: Kitchen) -> list[OpeningHours]:
    return list(OpeningHours.objects.filter(kitchen=kitchen).order_by("weekday", "opens_minute"))
