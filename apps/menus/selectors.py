"""Reads of menus with their visibility rules: browsing, the chef API, the admin."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from uuid import UUID

from django.db import connection
from django.db.models import F, QuerySet

from apps.accounts.models import User
from apps.chefs.models import Kitchen
from apps.chefs.selectors import bounding_box_q, distance_km_expression, kitchen_listed_q
from apps.menus.models import Dish, effective_portions
from foodiefast.geo import Point
from foodiefast.localtime import local_today


def dish_list_near(*, point: Point) -> QuerySet[Dish]:
    """Available dishes of listed kitchens whose delivery radius covers ``point``,
    nearest kitchen first (then by name), annotated with the kitchen's
    ``distance_km``. The kitchen bounding box comes first (index), then the exact
    distance. Sold-out dishes stay (stock is shown, not filtered)."""
    return (
        Dish.objects.filter(kitchen_listed_q("kitchen__"), deleted_at__isnull=True, is_available=True)
        .filter(bounding_box_q(point, prefix="kitchen__"))
        .annotate(distance_km=distance_km_expression(point, prefix="kitchen__"))
        .filter(distance_km__lte=F("kitchen__delivery_radius_km"))
        .select_related("kitchen")
        .order_by("distance_km", "kitchen_id", "name", "id")
    )


def dish_list_of_kitchen_public(*, kitchen: Kitchen) -> QuerySet[Dish]:
    """The dishes a kitchen's page shows: available today (sold-out ones included)."""
    return Dish.objects.filter(kitchen=kitchen, deleted_at__isnull=True, is_available=True).order_by("name", "id")


def dish_get_public(*, dish_id: UUID | str) -> Dish | None:
    """One dish as customers may see it: not deleted, of a listed kitchen (an
    unavailable dish is returned, shown as unavailable)."""
    return (
        Dish.objects.filter(kitchen_listed_q("kitchen__"), pk=dish_id, deleted_at__isnull=True)
        .select_related("kitchen")
        .first()
    )


def dish_list_for_chef(*, chef: User) -> QuerySet[Dish]:
    return Dish.objects.filter(kitchen__chef=chef, deleted_at__isnull=True).order_by("name", "id")


def dish_get_for_chef(*, chef: User, dish_id: UUID | str) -> Dish | None:
    """The chef's own dish; None for another chef's or a deleted one (the API's 404)."""
    return Dish.objects.filter(kitchen__chef=chef, pk=dish_id, deleted_at__isnull=True).first()


def portions_left_of(*, dish_ids: Iterable[UUID | str], day: dt.date | None = None) -> dict[str, int]:
    """Live stock of the given dishes: one primary-key query (what is laid over a
    cached menu, which never carries stock of its own).

    Plain SQL on purpose: this runs on every cached browse answer, and building the
    equivalent ORM query costs more than the query itself."""
    pk = Dish._meta.pk
    params = [pk.get_db_prep_value(UUID(str(dish_id)), connection) for dish_id in dish_ids]
    if not params:
        return {}
    day = day or local_today()
    # Only the table name and placeholders are interpolated; values go as parameters.
    sql = (
        f'SELECT "id", "portions_left", "stock_date", "portions_per_day" FROM "{Dish._meta.db_table}" '  # noqa: S608
        f'WHERE "id" IN ({", ".join(["%s"] * len(params))})'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    live = {}
    for pk_value, left, stored_date, per_day in rows:
        # SQLite hands dates back as text
        date = dt.date.fromisoformat(stored_date) if isinstance(stored_date, str) else stored_date
        live[str(UUID(str(pk_value)))] = effective_portions(left, date, per_day, day)
    return live
