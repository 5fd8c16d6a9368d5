"""Live stock of browsed dishes, read through Redis.

A cached menu never carries stock (it changes with every order); what is laid over it
is read here: one key per dish and local day, ``menus:stock:<catalog version>:<day>:
<dish id>`` holding the effective ``portions_left`` as a plain integer (so the ASGI
entry can read it without Django). Missing keys are filled from PostgreSQL (one
primary-key query for all of them).

- Every stock write (a reservation, a release, a chef setting today's portions) calls
  :func:`stock_changed`, which deletes the dish's keys after commit, so the next read
  takes the new figure from PostgreSQL.
- Every other edit bumps the catalog version (``catalog_changed``), which is part of
  the key, so the admin and any bulk edit cannot leave an old figure behind.
- The daily reset changes no effective figure (a row of an earlier day already counts
  as ``portions_per_day``) and the day is part of the key, so midnight needs nothing.
- A reader that took its figure from PostgreSQL just before a write committed may
  store it just after the write deleted the key; :data:`STOCK_CACHE_SECONDS` bounds
  how long that figure can be shown. A reservation itself always checks PostgreSQL,
  so a stale figure is a display, never an oversell.
- With Redis unreachable every read goes to PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from uuid import UUID

from django.core.cache import cache
from django.db import transaction

from apps.chefs.selectors import CATALOG_CACHE_NAMESPACE
from apps.menus.selectors import portions_left_of
from foodiefast.cache import namespace_version
from foodiefast.localtime import local_today

STOCK_CACHE_SECONDS = 10


def stock_key(version: int, day: dt.date, dish_id: str) -> str:
    """The cache key (before the cache's own prefix) of a dish's stock on ``day``."""
    return f"menus:stock:{version}:{day.isoformat()}:{dish_id}"


def portions_live(*, dish_ids: list[str], version: int, day: dt.date | None = None) -> dict[str, int]:
    """Effective ``portions_left`` of each dish on local ``day`` (today by default),
    from the cache, else PostgreSQL; an unknown dish has 0."""
    if not dish_ids:
        return {}
    day = day or local_today()
    keys = {stock_key(version, day, dish_id): dish_id for dish_id in dish_ids}
    live = {keys[key]: value for key, value in cache.get_many(list(keys)).items()}
    missing = [dish_id for dish_id in dish_ids if dish_id not in live]
    if missing:
        fresh = portions_left_of(dish_ids=missing, day=day)
        filled = {dish_id: fresh.get(dish_id, 0) for dish_id in missing}
        portions_prime(figures=filled, version=version, day=day)
        live.update(filled)
    return live


def portions_prime(*, figures: dict[str, int], version: int, day: dt.date | None = None) -> None:
    """Store figures just read from PostgreSQL (a menu built from the database), so
    the reads that follow need no query of their own."""
    if figures:
        day = day or local_today()
        cache.set_many({stock_key(version, day, k): v for k, v in figures.items()}, timeout=STOCK_CACHE_SECONDS)


def stock_changed(*, dish_ids: Iterable[UUID | str], days: Iterable[dt.date] = ()) -> None:
    """The stock of these dishes changed (on ``days`` and today): forget the cached
    figures once the transaction commits (at once outside one)."""
    ids = [str(dish_id) for dish_id in dish_ids]
    touched = set(days)

    def forget() -> None:
        version = namespace_version(CATALOG_CACHE_NAMESPACE)
        cache.delete_many([stock_key(version, day, i) for day in {*touched, local_today()} for i in ids])

    transaction.on_commit(forget)
