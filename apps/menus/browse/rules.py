"""The rules of browse caching as pure functions: keys, what is stored, when an
answer is fresh, who rebuilds it, how stock is read back. No I/O here: the view path
(:mod:`.answers`, :mod:`.stock`, synchronous) and the ASGI entry (:mod:`.edge`, on
the event loop) each wrap these in a few lines of Redis calls, so both decide alike.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import secrets
import time
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache.backends.base import default_key_func

from foodiefast.cache import version_key

# Part of every key: raise it when what is stored changes shape, so processes of the
# release still running and of the new one never read each other's entries.
FORMAT = 3
# How long a claim to rebuild one answer holds if its request dies on the way.
REFRESH_CLAIM_SECONDS = 5
# Sent by the ASGI entry with the token of the claim it made for this request.
REFRESH_HEADER = "X-Browse-Refresh"
# How long live stock figures are kept (keys of an old version or day just expire).
STOCK_CACHE_SECONDS = 60 * 60
# Connect and read timeout of every Redis client of browsing: a cache that does not
# answer in that time is a miss, never a request held up.
REDIS_TIMEOUT_SECONDS = 0.5

# The cache namespace whose version is part of every stored answer and stock figure;
# anything that changes what browsing shows bumps it (:mod:`.catalog`).
CATALOG_NAMESPACE = "catalog"

Stock = dict[str, tuple[int, int]]  # dish id -> (portions_left, stock_seq)


class StoredAnswer(NamedTuple):
    """A whole answer as the client got it: headers, the listed dishes, the body cut
    at each dish's stock, and until when it is fresh (epoch seconds)."""

    headers: list[tuple[bytes, bytes]]
    ids: list[str]
    parts: list[bytes]
    fresh_until: float


class Found(NamedTuple):
    """What one read of the catalog version and a stored answer gave."""

    version: int | None  # the catalog's current version (None: not set yet)
    stored_version: int | None  # the version the answer was built under
    answer: StoredAnswer | None

    @property
    def fresh(self) -> bool:
        """Served as it is: built under the current catalog version and not past its
        freshness. A stored answer that is not fresh is stale: one request rebuilds
        it, the others get it as it was a moment ago."""
        return (
            self.answer is not None
            and self.version is not None
            and self.stored_version == self.version
            and time.time() < self.answer.fresh_until
        )


# --- keys -----------------------------------------------------------------------


def full_key(key: str) -> str:
    """``key`` as the cache stores it in Redis (its prefix and version), so the view
    path, the ASGI entry and :mod:`foodiefast.cache` name the same entries."""
    conf = settings.CACHES["default"]
    return default_key_func(key, conf.get("KEY_PREFIX", ""), conf.get("VERSION", 1))


def catalog_version_key() -> str:
    return full_key(version_key(CATALOG_NAMESPACE))


def answer_key(kind: str, *, scheme: str, host: str, path: str, query: bytes) -> str:
    """The key of the whole answer to one exact request."""
    raw = b"\n".join([scheme.encode(), host.encode("latin-1", "replace"), path.encode(), query])
    return full_key(f"browse{FORMAT}:{kind}:a:{hashlib.sha256(raw).hexdigest()}")


def normal_key(kind: str, *parts: Any) -> str:
    """The key of the payload shared by every request that means the same thing."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return full_key(f"browse{FORMAT}:{kind}:n:{digest}")


def refresh_key(key: str) -> str:
    """Held by the one request that rebuilds a stale answer."""
    return f"{key}:refresh"


def stock_key(version: int, day, dish_id: str) -> str:
    """The key (before the cache's own prefix) of a dish's stock on local ``day``."""
    return f"menus:stock{FORMAT}:{version}:{day.isoformat()}:{dish_id}"


def stock_keys(version: int, day, dish_ids: Iterable[str]) -> list[str]:
    return [full_key(stock_key(version, day, dish_id)) for dish_id in dish_ids]


# --- stored values ----------------------------------------------------------------


def encode(version: int, value: Any) -> bytes:
    """An entry: the value with the catalog version it was built under."""
    return pickle.dumps((version, value), protocol=pickle.HIGHEST_PROTOCOL)


def decode(raw: bytes | None) -> tuple[int, Any] | None:
    """``(version, value)`` of an entry; None when missing or of another shape (e.g.
    written by another release)."""
    if raw is None:
        return None
    try:
        entry = pickle.loads(raw)  # noqa: S301 - only this project writes to its Redis
    except Exception:
        return None
    return entry if isinstance(entry, tuple) and len(entry) == 2 else None


def found(raw_version: bytes | None, raw_answer: bytes | None) -> Found:
    """Read the catalog version and a stored answer as fetched together (one MGET)."""
    version = int(raw_version) if raw_version is not None else None
    entry = decode(raw_answer)
    if entry is None or not isinstance(entry[1], StoredAnswer):
        return Found(version, None, None)
    return Found(version, entry[0], entry[1])


# --- the refresh claim ------------------------------------------------------------


class Claim(NamedTuple):
    """A ``SET key token NX PX ms`` that only one request wins."""

    key: str
    token: str
    px: int


def claim_for(answer_key_: str) -> Claim:
    return Claim(refresh_key(answer_key_), secrets.token_hex(16), REFRESH_CLAIM_SECONDS * 1000)


def holds_claim(stored_token: bytes | None, offered: str | None) -> bool:
    """A request the ASGI entry sent with the token of its claim holds that claim (a
    client cannot forge one: the token must be the one in Redis)."""
    return bool(offered) and stored_token is not None and stored_token == offered.encode()


# --- stock ------------------------------------------------------------------------


def figure_of(raw: bytes) -> int:
    """The ``portions_left`` of a stored ``<figure>:<seq>`` value."""
    return int(raw.split(b":", 1)[0])


def figures(dish_ids: Sequence[str], raws: Sequence[bytes | None]) -> dict[str, int]:
    """The figures Redis held for ``dish_ids`` (read with :func:`stock_keys`); a dish
    whose figure is missing is not in the result."""
    return {dish_id: figure_of(raw) for dish_id, raw in zip(dish_ids, raws, strict=True) if raw is not None}


def fill(parts: list[bytes], live: Iterable[int]) -> bytes:
    """The body: ``parts`` with a stock figure in each hole between them."""
    out = [parts[0]]
    for figure, part in zip(live, parts[1:], strict=True):
        out += (str(figure).encode(), part)
    return b"".join(out)


# KEYS: stock keys; ARGV: ttl, then figure and seq for each key in turn. Keeps each
# figure unless Redis holds one of a higher stock_seq.
KEEP_NEWEST = """
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


def keep_newest_args(stock: Stock, *, version: int, day) -> tuple[list[str], list[int]]:
    """KEYS and ARGV of :data:`KEEP_NEWEST` for ``stock``."""
    ids = list(stock)
    args: list[int] = [STOCK_CACHE_SECONDS]
    for dish_id in ids:
        args += stock[dish_id]
    return stock_keys(version, day, ids), args


# --- normalised requests ------------------------------------------------------------


def normalised(params: dict[str, Any]) -> dict[str, Any]:
    """Filters as a canonical, JSON-able dict: point rounded to 3 decimals, empty
    filters dropped, lists sorted, text trimmed and lower-cased."""
    out: dict[str, Any] = {}
    for name, raw in params.items():
        value = _canonical(name, raw)
        if value not in (None, "", []):
            out[name] = value
    return out


def _canonical(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in ("lat", "lng"):
        return round(float(value), 3)
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, (tuple, list)):
        return sorted(value)
    if isinstance(value, (bool, int, float)):
        return value
    return str(value)
