"""Live stock of browsed dishes, kept in Redis and never older than PostgreSQL says.

A cached menu never carries stock (it changes with every order); what is laid over it
is read here: one key per dish, catalog version and local day, ``menus:stock<format>:<version>:
<day>:<dish id>``, holding ``<portions_left>:<stock_seq>`` (plain text, so the ASGI
entry reads it without Django).

- Every stock write in the services (a reservation, a release, a chef setting today's
  portions) raises the dish's ``stock_seq`` and, after commit, writes the figure it
  reads back from PostgreSQL through (:func:`stock_changed`). A menu that is read
  all lunch long therefore never misses its stock.
- Every write goes through one Redis script that keeps the figure with the higher
  ``stock_seq``: a reader that filled a figure from PostgreSQL just before a
  reservation committed cannot overwrite the newer one, whatever the order they
  reach Redis in.
- Every other edit (the admin, a bulk change) bumps the catalog version, which is
  part of the key: the next read fills from PostgreSQL under the new version.
- The daily reset changes no effective figure (a row of an earlier day already counts
  as ``portions_per_day``), and the day is part of the key.
- Keys of an old version or day expire after :data:`STOCK_CACHE_SECONDS`.
- Without Redis (debug, or Redis unreachable) every read goes to PostgreSQL; a
  reservation always checks PostgreSQL, so the figure is a display, never an oversell.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from redis.exceptions import RedisError

from apps.chefs.selectors import CATALOG_CACHE_NAMESPACE
from apps.menus.selectors import stock_of
from foodiefast.cache import namespace_version
from foodiefast.localtime import local_today

logger = logging.getLogger("foodiefast.cache")

STOCK_CACHE_SECONDS = 60 * 60
# Part of every key: raise it when the stored value changes shape (see browse_cache).
FORMAT = 2

# KEYS: stock keys; ARGV: ttl, then figure and seq for each key in turn.
_KEEP_NEWEST = """
local ttl = ARGV[1]
for i, key in ipairs(KEYS) do
  local figure, seq = ARGV[2 * i], tonumber(ARGV[2 * i + 1])
  local current = redis.call('GET', key)
  local current_seq = current and tonumber(string.match(current, ':(%d+)$')) or -1
  if seq >= current_seq then
    redis.call('SET', key, figure .. ':' .. seq, 'EX', ttl)
  end
end
return 0
"""

Stock = dict[str, tuple[int, int]]  # dish id -> (portions_left, stock_seq)


def stock_key(version: int, day: dt.date, dish_id: str) -> str:
    """The cache key (before the cache's own prefix) of a dish's stock on ``day``."""
    return f"menus:stock{FORMAT}:{version}:{day.isoformat()}:{dish_id}"


def figure_of(raw: bytes) -> int:
    """The ``portions_left`` of a stored ``<figure>:<seq>`` value."""
    return int(raw.split(b":", 1)[0])


def _redis():
    """The raw client of the cache's Redis, or None without one."""
    return cache.client.get_client(write=True) if settings.REDIS_URL else None


def stock_store(*, stock: Stock, version: int, day: dt.date | None = None) -> None:
    """Keep each figure unless Redis holds one of a higher ``stock_seq``."""
    client = _redis()
    if client is None or not stock:
        return
    day = day or local_today()
    keys, args = [], [STOCK_CACHE_SECONDS]
    for dish_id, (figure, seq) in stock.items():
        keys.append(cache.make_key(stock_key(version, day, dish_id)))
        args += (figure, seq)
    try:
        client.register_script(_KEEP_NEWEST)(keys=keys, args=args)
    except RedisError as exc:
        logger.warning("stock cache: redis unavailable", extra={"error": exc.__class__.__name__})


def portions_live(*, dish_ids: list[str], version: int, day: dt.date | None = None) -> dict[str, int]:
    """Effective ``portions_left`` of each dish on local ``day`` (today by default),
    from Redis, else PostgreSQL (then stored); an unknown dish has 0."""
    if not dish_ids:
        return {}
    day = day or local_today()
    live: dict[str, int] = {}
    client = _redis()
    if client is not None:
        try:
            found = client.mget([cache.make_key(stock_key(version, day, dish_id)) for dish_id in dish_ids])
        except RedisError as exc:
            logger.warning("stock cache: redis unavailable", extra={"error": exc.__class__.__name__})
            found = [None] * len(dish_ids)
        live = {dish_id: figure_of(raw) for dish_id, raw in zip(dish_ids, found, strict=True) if raw is not None}
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
        if settings.REDIS_URL:
            stock_store(stock=stock_of(dish_ids=ids), version=namespace_version(CATALOG_CACHE_NAMESPACE))

    transaction.on_commit(write_through)
