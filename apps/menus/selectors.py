"""Reads of menus with their visibility rules: browsing, the chef API, the admin."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from uuid import UUID

from django.db import connection
from django.db.models import Case, Count, IntegerField, QuerySet, Value, When

from apps.accounts.models import User
from apps.chefs.models import Kitchen
from apps.chefs.selectors import bounding_box_q, is_open_at, kitchen_get_listed, kitchen_listed_q, open_now_sql
from apps.menus.models import Dish, effective_portions
from foodiefast.geo import Point, haversine_km
from foodiefast.localtime import local_today
from foodiefast.rows import reader


def _kitchens_in_box(point: Point) -> QuerySet[Kitchen]:
    """Listed kitchens in the bounding box of the widest delivery radius (served by
    the partial index on listed kitchens' ``lat, lng``)."""
    return Kitchen.objects.filter(kitchen_listed_q(), bounding_box_q(point))


def kitchens_delivering_to(*, point: Point) -> list[UUID]:
    """Ids of listed kitchens whose own delivery radius covers ``point``, nearest
    first: the bounding box in SQL, then the exact distance for those few rows."""
    rows = _kitchens_in_box(point).values_list("id", "lat", "lng", "delivery_radius_km")
    ranked = []
    for kitchen_id, lat, lng, radius in rows:
        distance = haversine_km(point, Point(lat, lng))
        if distance <= radius:
            ranked.append((distance, kitchen_id))
    return [kitchen_id for _, kitchen_id in sorted(ranked)]


def dish_page_near(
    *, point: Point, refine: Callable[[QuerySet[Dish]], QuerySet[Dish]], offset: int, limit: int
) -> tuple[int, list[Dish]]:
    """One page of the available dishes of kitchens delivering to ``point`` (after
    ``refine``, the browse filters), nearest kitchen first, then by name; and how many
    there are in all. Sold-out dishes stay (stock is shown, not filtered).

    Three queries whatever the menu size: the kitchens (exact distance in Python),
    the dish count per kitchen of the bounding box (a subquery, not a long id list),
    and the page's dishes from only the few kitchens it spans, so no query sorts the
    whole menu by distance."""
    kitchen_ids = kitchens_delivering_to(point=point)
    if not kitchen_ids:
        return 0, []
    dishes = refine(Dish.objects.filter(deleted_at__isnull=True, is_available=True))
    in_box = dishes.filter(kitchen__in=_kitchens_in_box(point).values("pk"))
    per_kitchen = dict(in_box.order_by().values_list("kitchen_id").annotate(n=Count("pk")))
    total = sum(per_kitchen.get(k, 0) for k in kitchen_ids)
    span: list[UUID] = []
    skip = position = 0
    for kitchen_id in kitchen_ids:
        count = per_kitchen.get(kitchen_id, 0)
        if not count or position + count <= offset:
            position += count
            continue
        if position >= offset + limit:
            break
        if not span:
            skip = offset - position
        span.append(kitchen_id)
        position += count
    if not span:
        return total, []
    nearest_first = Case(*[When(kitchen_id=k, then=Value(i)) for i, k in enumerate(span)], output_field=IntegerField())
    page = dishes.filter(kitchen_id__in=span).select_related("kitchen").order_by(nearest_first, "name", "id")
    return total, list(page[skip : skip + limit])


def dish_list_of_kitchen_public(*, kitchen: Kitchen) -> QuerySet[Dish]:
    """The dishes a kitchen's page shows: available today (sold-out ones included)."""
    return Dish.objects.filter(kitchen=kitchen, deleted_at__isnull=True, is_available=True).order_by("name", "id")


def kitchen_page_public(*, kitchen_id: UUID | str, point: Point | None = None) -> Kitchen | None:
    """A listed kitchen as its public page shows it (three queries): ``is_open`` now,
    ``distance_km`` from ``point`` if given, its opening hours, and ``dishes_today``
    (available, sold-out ones included). None for an unknown or hidden kitchen."""
    kitchen = kitchen_get_listed(kitchen_id=kitchen_id)
    if kitchen is None:
        return None
    kitchen.is_open = is_open_at(list(kitchen.opening_hours.all()))
    if point is not None:
        kitchen.distance_km = haversine_km(point, Point(kitchen.lat, kitchen.lng))
    kitchen.dishes_today = list(dish_list_of_kitchen_public(kitchen=kitchen))
    for dish in kitchen.dishes_today:
        dish.kitchen = kitchen
    return kitchen


def dish_get_public(*, dish_id: UUID | str) -> Dish | None:
    """One dish as customers may see it: not deleted, of a listed kitchen (an
    unavailable dish is returned, shown as unavailable)."""
    return (
        Dish.objects.filter(kitchen_listed_q("kitchen__"), pk=dish_id, deleted_at__isnull=True)
        .select_related("kitchen")
        .first()
    )


def dishes_for_checkout(*, dish_ids: Iterable[UUID | str]) -> dict[str, Dish]:
    """The dishes an order names, by id, with their kitchen: deleted and unavailable
    ones and those of hidden kitchens included, so checkout can tell "unknown" from
    "unavailable" and "closed". Each carries ``kitchen_is_open``: whether its
    kitchen's opening hours cover this local minute. One query.

    Plain SQL on purpose (:mod:`foodiefast.rows`): it runs on every checkout, and
    building the equivalent ORM query (the join, the opening hours' subquery) cost
    more CPU than the query itself."""
    pk = Dish._meta.pk
    params = [pk.get_db_prep_value(UUID(str(dish_id)), connection) for dish_id in dish_ids]
    if not params:
        return {}
    dish_columns, dish_of = reader(Dish, "d")
    kitchen_columns, kitchen_of = reader(Kitchen, "k")
    open_now, open_params = open_now_sql(kitchen_column=f'"d"."{Dish._meta.get_field("kitchen").column}"')
    # Only table and column names and placeholders are interpolated; values go as parameters.
    sql = (
        f"SELECT {dish_columns}, {kitchen_columns}, {open_now} "  # noqa: S608
        f'FROM "{Dish._meta.db_table}" AS "d" INNER JOIN "{Kitchen._meta.db_table}" AS "k" '
        f'ON "k"."{Kitchen._meta.pk.column}" = "d"."{Dish._meta.get_field("kitchen").column}" '
        f'WHERE "d"."{pk.column}" IN ({", ".join(["%s"] * len(params))})'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*open_params, *params])
        rows = cursor.fetchall()
    width = len(Dish._meta.concrete_fields)
    dishes = {}
    for row in rows:
        dish = dish_of(row[:width])
        dish.kitchen = kitchen_of(row[width:-1])
        dish.kitchen_is_open = bool(row[-1])
        dishes[str(dish.pk)] = dish
    return dishes


def dish_list_for_chef(*, chef: User) -> QuerySet[Dish]:
    return Dish.objects.filter(kitchen__chef=chef, deleted_at__isnull=True).order_by("name", "id")


def dish_get_for_chef(*, chef: User, dish_id: UUID | str) -> Dish | None:
    """The chef's own dish; None for another chef's or a deleted one (the API's 404)."""
    return Dish.objects.filter(kitchen__chef=chef, pk=dish_id, deleted_at__isnull=True).first()


def stock_of(*, dish_ids: Iterable[UUID | str], day: dt.date | None = None) -> dict[str, tuple[int, int]]:
    """Live stock of the given dishes on local ``day``: ``(portions_left, stock_seq)``
    per dish id, in one primary-key query (what fills the stock laid over a cached
    menu, which never carries stock of its own).

    Plain SQL on purpose: this runs on every cached browse answer whose stock is not
    in Redis, and building the equivalent ORM query costs more than the query itself."""
    pk = Dish._meta.pk
    params = [pk.get_db_prep_value(UUID(str(dish_id)), connection) for dish_id in dish_ids]
    if not params:
        return {}
    day = day or local_today()
    # Only the table name and placeholders are interpolated; values go as parameters.
    sql = (
        f'SELECT "id", "portions_left", "stock_date", "portions_per_day", "stock_seq" '  # noqa: S608
        f'FROM "{Dish._meta.db_table}" WHERE "id" IN ({", ".join(["%s"] * len(params))})'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    live = {}
    for pk_value, left, stored_date, per_day, seq in rows:
        # SQLite hands dates back as text
        date = dt.date.fromisoformat(stored_date) if isinstance(stored_date, str) else stored_date
        live[str(UUID(str(pk_value)))] = (effective_portions(left, date, per_day, day), seq)
    return live
