"""Live stock of browsed dishes, kept in Redis and never older than PostgreSQL says.

A stored answer never carries stock (it changes with every order); what is laid over
it is read here (and by the ASGI entry, with the same keys and rules from
:mod:`.rules`): one key per dish, catalog version and local day, holding
``<portions_left>:<stock_seq>`` (plain text, so the entry reads it without Django).

- Every stock write in the services (a reservation, a release, a chef setting today's
  portions) raises the dish's ``stock_seq`` and, after commit, writes the figure it
  reads back from PostgreSQL through (:func:`stock_changed`), or the one its update
  returned (:func:`stock_written`, a reservation). A menu that is read all lunch long
  therefore never misses its stock.
- Every write goes through one Redis script that keeps the figure with the higher
  ``stock_seq``: a reader that filled a figure from PostgreSQL just before a
  reservation committed cannot overwrite the newer one, whatever the order they
  reach Redis in.
- Every other edit (the admin, a bulk change) bumps the catalog version, which is
  part of the key: the next read fills from PostgreSQL under the new version.
- The daily reset changes no effective figure (a row of an earlier day already counts
  as ``portions_per_day``), and the day is part of the key.
- Keys of an old version or day expire after ``STOCK_CACHE_SECONDS``.
- Without Redis (debug, or Redis unreachable or frozen: see :mod:`.clients`) every
  read goes to PostgreSQL; a reservation always checks PostgreSQL, so the figure is a
  display, never an oversell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from uuid import UUID

from django.db import transaction

from apps.menus.browse import rules
from apps.menus.browse.catalog import catalog_version
from apps.menus.browse.clients import UNAVAILABLE, sync_client, unavailable
from apps.menus.browse.rules import Stock
from apps.menus.selectors import stock_of
from foodiefast.localtime import local_today


def stock_from(dishes: Iterable, *, day: dt.date) -> Stock:
    """The figures of dishes just read from PostgreSQL, to store beside their menu."""
    return {str(dish.pk): (dish.portions_left_on(day), dish.stock_seq) for dish in dishes}


def stock_store(*, stock: Stock, version: int | None, day: dt.date | None = None) -> None:
    """Keep each figure unless Redis holds one of a higher ``stock_seq`` (nothing
    without a catalog version: Redis was unavailable)."""
    client = sync_client()
    if client is None or version is None or not stock:
        return
    keys, args = rules.keep_newest_args(stock, version=version, day=day or local_today())
    try:
        client.register_script(rules.KEEP_NEWEST)(keys=keys, args=args)
    except UNAVAILABLE as exc:
        unavailable(exc, what="stock cache")


def portions_cached(*, dish_ids: list[str], version: int | None, day: dt.date) -> dict[str, int]:
    """The figures Redis holds for these dishes (those it lacks are left out)."""
    client = sync_client()
    if client is None or version is None or not dish_ids:
        return {}
    try:
        return rules.figures(dish_ids, client.mget(rules.stock_keys(version, day, dish_ids)))
    except UNAVAILABLE as exc:
        unavailable(exc, what="stock cache")
        return {}


def portions_live(*, dish_ids: list[str], version: int | None, day: dt.date | None = None) -> dict[str, int]:
    """Effective ``portions_left`` of each dish on local ``day`` (today by default),
    from Redis, else PostgreSQL (then stored); an unknown dish has 0."""
    day = day or local_today()
    live = portions_cached(dish_ids=dish_ids, version=version, day=day)
    missing = [dish_id for dish_id in dish_ids if dish_id not in live]
    if missing:
        fresh = stock_of(dish_ids=missing, day=day)
        stock_store(stock=fresh, version=version, day=day)
        live.update({dish_id: fresh.get(dish_id, (0, 0))[0] for dish_id in missing})
    return live


def stock_changed(*, dish_ids: Iterable[UUID | str]) -> None:
    """The stock of these dishes was written (with ``stock_seq`` raised): once the
    transaction commits (at once outside one), read today's figures back and write
    them through to Redis."""
    ids = [str(dish_id) for dish_id in dish_ids]

    def write_through() -> None:
        if sync_client() is not None:
            stock_store(stock=stock_of(dish_ids=ids), version=catalog_version())

    transaction.on_commit(write_through)


def stock_written(*, stock: Stock) -> None:
    """Today's figures of these dishes as the caller's update returned them (with
    ``stock_seq`` raised, rows locked until commit, so they are what commits): once the
    transaction commits (at once outside one), write them through to Redis."""

    def write_through() -> None:
        if sync_client() is not None:
            stock_store(stock=stock, version=catalog_version())

    transaction.on_commit(write_through)
