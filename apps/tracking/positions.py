"""The live side of tracking, in Redis: each courier's newest position, their duty
(online? which delivery, its pickup and drop-off, when the food is ready), and the
last trail point kept per courier.

A location ping is one Redis round trip (:func:`ping`, a Lua script): it reads the
duty, stores the newest point as the courier's position (unless a newer one is
there already) and says which points of the batch the trail keeps (at most one per
``TRAIL_MIN_SECONDS`` unless the courier moved ``TRAIL_MIN_METRES``). The duty is a
copy of what PostgreSQL says, written after each commit that changes it and kept
``DUTY_TTL_SECONDS``: a copy lost (evicted, a write missed while Redis was down) is
read again from PostgreSQL by the next ping, so it is never stale for longer.

Every call has connect and read timeouts and no retry: a stopped or frozen Redis
costs a call :data:`TIMEOUT_SECONDS`, then the clients are withheld for
:data:`BREAKER_SECONDS` (calls fail at once). Writers raise :class:`Unavailable`;
readers get None and fall back to PostgreSQL.

Without Redis (the embedded ``make run``) the same is kept in this process's memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
import weakref
from dataclasses import dataclass

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger("apps.tracking")

TIMEOUT_SECONDS = 0.5
BREAKER_SECONDS = 1.0
DUTY_TTL_SECONDS = 60
POSITION_TTL_SECONDS = 12 * 60 * 60
UNAVAILABLE = (redis.RedisError, OSError, TimeoutError)


class Unavailable(Exception):
    """Redis did not answer (down, frozen, refusing)."""


@dataclass(frozen=True)
class Fix:
    """A position and when it was taken (Unix seconds)."""

    lat: float
    lng: float
    at: float


@dataclass(frozen=True)
class Duty:
    """What a courier is doing, as the ping needs it: ``delivery`` is empty when they
    hold none; ``phase`` is the delivery's status; ``ready_by`` the expected ready
    time (Unix seconds, None when unknown); ``ready`` whether the food is ready."""

    online: bool
    delivery: str = ""
    reference: str = ""
    phase: str = ""
    pickup: tuple[float, float] | None = None
    dropoff: tuple[float, float] | None = None
    ready_by: float | None = None
    ready: bool = False

    def as_hash(self) -> dict[str, str]:
        return {
            "online": "1" if self.online else "0",
            "delivery": self.delivery,
            "reference": self.reference,
            "phase": self.phase,
            "plat": _num(self.pickup and self.pickup[0]),
            "plng": _num(self.pickup and self.pickup[1]),
            "dlat": _num(self.dropoff and self.dropoff[0]),
            "dlng": _num(self.dropoff and self.dropoff[1]),
            "ready_by": _num(self.ready_by),
            "ready": "1" if self.ready else "0",
        }

    @classmethod
    def from_hash(cls, fields: dict[str, str]) -> Duty:
        def pair(a: str, b: str) -> tuple[float, float] | None:
            return (float(fields[a]), float(fields[b])) if fields.get(a) and fields.get(b) else None

        return cls(
            online=fields.get("online") == "1",
            delivery=fields.get("delivery", ""),
            reference=fields.get("reference", ""),
            phase=fields.get("phase", ""),
            pickup=pair("plat", "plng"),
            dropoff=pair("dlat", "dlng"),
            ready_by=float(fields["ready_by"]) if fields.get("ready_by") else None,
            ready=fields.get("ready") == "1",
        )


@dataclass(frozen=True)
class Pinged:
    """What a ping found: ``duty`` None when Redis holds no copy (read it from
    PostgreSQL, :func:`duty_store`, and ping again); ``kept`` the indexes of the
    batch's points the trail keeps; ``moved`` whether the newest point became the
    courier's position."""

    duty: Duty | None
    moved: bool = False
    kept: tuple[int, ...] = ()
    vouched: bool = True  # False: not the sign-in the caller expected, nothing done


def _num(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _pos_key(courier_id: str) -> str:
    return f"trk:pos:{courier_id}"


def _duty_key(courier_id: str) -> str:
    return f"trk:duty:{courier_id}"


def _trail_key(courier_id: str) -> str:
    return f"trk:trail:{courier_id}"


def _auth_key(user_id: str) -> str:
    return f"trk:auth:{user_id}"


# How long the ASGI entry trusts what Django last said of a courier's sign-in (their
# role, and a digest of the password claim their tokens must carry).
AUTH_TTL_SECONDS = 60


# KEYS: duty, position, last trail point, sign-in. ARGV: min seconds, min metres,
# position TTL, defer (1: say which points the trail keeps without remembering them,
# for a caller that cannot write them and hands the ping on), the sign-in digest the
# caller expects ('' for none), then the points oldest first as lat, lng, at. Returns
# {"auth"} (not the expected sign-in: nothing done), {"miss"}, or {"ok", moved, duty as
# JSON, kept indexes as JSON}. A
# point is kept in the trail when it is the delivery's first, or TRAIL_MIN_SECONDS
# after the last kept, or TRAIL_MIN_METRES from it.
PING_SCRIPT = """
if ARGV[5] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[5] then return {'auth'} end
local duty = redis.call('HGETALL', KEYS[1])
if #duty == 0 then return {'miss'} end
local d = {}
for i = 1, #duty, 2 do d[duty[i]] = duty[i + 1] end
local n = (#ARGV - 5) / 3
local min_s, min_m, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local defer = ARGV[4] == '1'
local moved = 0
local kept = {}
if d['online'] == '1' or d['delivery'] ~= '' then
  local b = 5 + (n - 1) * 3
  local at = tonumber(ARGV[b + 3])
  local current = redis.call('HGET', KEYS[2], 'at')
  if (not current) or tonumber(current) <= at then
    redis.call('HSET', KEYS[2], 'lat', ARGV[b + 1], 'lng', ARGV[b + 2], 'at', ARGV[b + 3])
    moved = 1
  end
  redis.call('EXPIRE', KEYS[2], ttl)
  if d['delivery'] ~= '' then
    local last = redis.call('GET', KEYS[3])
    local ld, llat, llng, lat_at
    if last then
      local parts = {}
      for part in string.gmatch(last, '%S+') do parts[#parts + 1] = part end
      ld, llat, llng, lat_at = parts[1], tonumber(parts[2]), tonumber(parts[3]), tonumber(parts[4])
    end
    local value = nil
    for i = 1, n do
      local o = 5 + (i - 1) * 3
      local lat, lng, t = tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
      local keep = ld ~= d['delivery']
      if not keep and t >= lat_at then
        local x = math.rad(lng - llng) * math.cos(math.rad((lat + llat) / 2))
        local y = math.rad(lat - llat)
        keep = (t - lat_at >= min_s) or (math.sqrt(x * x + y * y) * 6371008.8 >= min_m)
      end
      if keep then
        kept[#kept + 1] = i - 1
        ld, llat, llng, lat_at = d['delivery'], lat, lng, t
        value = ld .. ' ' .. ARGV[o + 1] .. ' ' .. ARGV[o + 2] .. ' ' .. ARGV[o + 3]
      end
    end
    if value and not defer then redis.call('SET', KEYS[3], value, 'EX', ttl) end
  end
end
return {'ok', moved, cjson.encode(d), cjson.encode(kept)}
"""


def _ping_call(courier_id: str, points: list[Fix], defer: bool, vouched: str) -> tuple[list[str], list]:
    """The keys and arguments of :data:`PING_SCRIPT`."""
    args: list[str | float] = [
        settings.TRAIL_MIN_SECONDS,
        settings.TRAIL_MIN_METRES,
        POSITION_TTL_SECONDS,
        "1" if defer else "0",
        vouched,
    ]
    for point in points:
        args += [repr(point.lat), repr(point.lng), repr(point.at)]
    return [_duty_key(courier_id), _pos_key(courier_id), _trail_key(courier_id), _auth_key(courier_id)], args


def _pinged(answer: list) -> Pinged:
    """:data:`PING_SCRIPT`'s answer."""
    if answer[0] == "auth":
        return Pinged(duty=None, vouched=False)
    if answer[0] == "miss":
        return Pinged(duty=None)
    kept = json.loads(answer[3])
    return Pinged(
        duty=Duty.from_hash(json.loads(answer[2])),
        moved=bool(int(answer[1])),
        kept=tuple(kept) if isinstance(kept, list) else (),
    )


class _RedisStore:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(
            url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=TIMEOUT_SECONDS,
            socket_timeout=TIMEOUT_SECONDS,
            health_check_interval=0,
            decode_responses=True,
        )
        self.script = self.client.register_script(PING_SCRIPT)
        self.down_until = 0.0
        self.url = url
        # The event loops' clients (the ASGI entry's fast path), one per loop.
        self.loop_scripts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def call(self, fn):
        if time.monotonic() < self.down_until:
            raise Unavailable("redis breaker open")
        try:
            return fn(self.client)
        except UNAVAILABLE as exc:
            self.down_until = time.monotonic() + BREAKER_SECONDS
            logger.warning("tracking: redis unavailable", extra={"error": exc.__class__.__name__})
            raise Unavailable(str(exc)) from exc

    def ping(self, courier_id: str, points: list[Fix], defer: bool, vouched: str) -> Pinged:
        keys, args = _ping_call(courier_id, points, defer, vouched)
        return _pinged(self.call(lambda client: self.script(keys=keys, args=args, client=client)))

    async def ping_async(self, courier_id: str, points: list[Fix], vouched: str) -> Pinged:
        """:meth:`ping` (trail deferred) on the event loop: this loop's own client."""
        if time.monotonic() < self.down_until:
            raise Unavailable("redis breaker open")
        keys, args = _ping_call(courier_id, points, True, vouched)
        loop = asyncio.get_running_loop()
        script = self.loop_scripts.get(loop)
        if script is None:
            client = aioredis.Redis.from_url(
                self.url,
                retry=AsyncRetry(NoBackoff(), 0),
                socket_connect_timeout=TIMEOUT_SECONDS,
                socket_timeout=TIMEOUT_SECONDS,
                health_check_interval=0,
                decode_responses=True,
            )
            script = self.loop_scripts[loop] = client.register_script(PING_SCRIPT)
        try:
            answer = await script(keys=keys, args=args)
        except UNAVAILABLE as exc:
            self.down_until = time.monotonic() + BREAKER_SECONDS
            logger.warning("tracking: redis unavailable", extra={"error": exc.__class__.__name__})
            raise Unavailable(str(exc)) from exc
        return _pinged(answer)

    def duty_store(self, courier_id: str, duty: Duty) -> None:
        def write(client):
            with client.pipeline(transaction=True) as pipe:
                pipe.delete(_duty_key(courier_id))
                pipe.hset(_duty_key(courier_id), mapping=duty.as_hash())
                pipe.expire(_duty_key(courier_id), DUTY_TTL_SECONDS)
                pipe.execute()

        self.call(write)

    def position_store(self, courier_id: str, fix: Fix) -> None:
        def write(client):
            with client.pipeline(transaction=True) as pipe:
                pipe.hset(
                    _pos_key(courier_id), mapping={"lat": repr(fix.lat), "lng": repr(fix.lng), "at": repr(fix.at)}
                )
                pipe.expire(_pos_key(courier_id), POSITION_TTL_SECONDS)
                pipe.execute()

        self.call(write)

    def auth_store(self, user_id: str, record: str) -> None:
        self.call(lambda client: client.set(_auth_key(user_id), record, ex=AUTH_TTL_SECONDS))

    def positions(self, courier_ids: list[str]) -> dict[str, Fix]:
        def read(client):
            with client.pipeline(transaction=False) as pipe:
                for courier_id in courier_ids:
                    pipe.hgetall(_pos_key(courier_id))
                return pipe.execute()

        found = self.call(read) if courier_ids else []
        return {
            courier_id: Fix(float(fields["lat"]), float(fields["lng"]), float(fields["at"]))
            for courier_id, fields in zip(courier_ids, found, strict=True)
            if fields.get("lat") and fields.get("lng") and fields.get("at")
        }


class _LocalStore:
    """The embedded mode's store: this process's memory, same rules."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.duties: dict[str, Duty] = {}
        self.fixes: dict[str, Fix] = {}
        self.trail: dict[str, tuple[str, Fix]] = {}

    def ping(self, courier_id: str, points: list[Fix], defer: bool, vouched: str) -> Pinged:
        with self.lock:
            duty = self.duties.get(courier_id)
            if duty is None:
                return Pinged(duty=None)
            if not duty.online and not duty.delivery:
                return Pinged(duty=duty)
            newest = points[-1]
            current = self.fixes.get(courier_id)
            moved = current is None or current.at <= newest.at
            if moved:
                self.fixes[courier_id] = newest
            kept: list[int] = []
            if duty.delivery:
                last = self.trail.get(courier_id)
                for index, point in enumerate(points):
                    if last is None or last[0] != duty.delivery or _trail_keeps(last[1], point):
                        kept.append(index)
                        last = (duty.delivery, point)
                if last is not None and not defer:
                    self.trail[courier_id] = last
            return Pinged(duty=duty, moved=moved, kept=tuple(kept))

    def duty_store(self, courier_id: str, duty: Duty) -> None:
        with self.lock:
            self.duties[courier_id] = duty

    def position_store(self, courier_id: str, fix: Fix) -> None:
        with self.lock:
            self.fixes[courier_id] = fix

    def auth_store(self, user_id: str, record: str) -> None:
        """Nothing: without Redis there is no ASGI entry's fast path to serve."""

    def positions(self, courier_ids: list[str]) -> dict[str, Fix]:
        with self.lock:
            return {c: self.fixes[c] for c in courier_ids if c in self.fixes}


def _trail_keeps(last: Fix, point: Fix) -> bool:
    if point.at < last.at:
        return False
    x = math.radians(point.lng - last.lng) * math.cos(math.radians((point.lat + last.lat) / 2))
    y = math.radians(point.lat - last.lat)
    metres = math.hypot(x, y) * 6371008.8
    return point.at - last.at >= settings.TRAIL_MIN_SECONDS or metres >= settings.TRAIL_MIN_METRES


_stores: dict[str, _RedisStore | _LocalStore] = {}
_stores_lock = threading.Lock()


def store() -> _RedisStore | _LocalStore:
    """The store of this process for the configured Redis (memory without one)."""
    url = settings.REDIS_URL or ""
    found = _stores.get(url)
    if found is None:
        with _stores_lock:
            found = _stores.get(url) or (_RedisStore(url) if url else _LocalStore())
            _stores[url] = found
    return found


def ping(*, courier_id: str, points: list[Fix], defer_trail: bool = False, vouched: str = "") -> Pinged:
    """Record a batch (oldest first) in one round trip; raises :class:`Unavailable`.
    ``defer_trail``: say which points the trail keeps, but leave them to a caller
    that pings again without it (the ASGI entry hands such a ping to Django);
    ``vouched``: do nothing unless the sign-in :func:`auth_store` remembered is this."""
    return store().ping(courier_id, points, defer_trail, vouched)


async def ping_async(*, courier_id: str, points: list[Fix], vouched: str) -> Pinged:
    """:func:`ping` with ``defer_trail`` on the running event loop (Redis only);
    raises :class:`Unavailable`."""
    found = store()
    if not isinstance(found, _RedisStore):
        raise Unavailable("no redis")
    return await found.ping_async(courier_id, points, vouched)


def duty_store(*, courier_id: str, duty: Duty) -> None:
    """Replace the copy of the courier's duty; raises :class:`Unavailable`."""
    store().duty_store(courier_id, duty)


def position_store(*, courier_id: str, fix: Fix) -> None:
    """Set the courier's position (their availability); raises :class:`Unavailable`."""
    store().position_store(courier_id, fix)


def positions_read(*, courier_ids: list[str]) -> dict[str, Fix] | None:
    """The newest positions of these couriers (those Redis has), or None when Redis
    cannot answer (the caller falls back to PostgreSQL)."""
    try:
        return store().positions(courier_ids)
    except Unavailable:
        return None


def auth_store(*, user_id: str, record: str) -> None:
    """Remember for :data:`AUTH_TTL_SECONDS` what Django found of a signed-in
    courier (see :mod:`apps.tracking.edge`); raises :class:`Unavailable`."""
    store().auth_store(user_id, record)
