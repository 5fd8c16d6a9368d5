"""The live side of tracking, in Redis: each courier's newest position, their duty
(online? which delivery, its pickup and drop-off, when the food is ready), and the
last trail point kept per courier.

A location ping is one Redis round trip (:func:`ping`, a Lua script): it reads the
duty, stores the newest point as the courier's position (unless a newer one is
there already), says which points of the batch the trail keeps (at most one per
``TRAIL_MIN_SECONDS`` unless the courier moved ``TRAIL_MIN_METRES``) and publishes
the ``location`` event on the delivery's channel. The event (its ETA) is computed by
the caller from the duty this process last saw; the duty in Redis carries a version
and the script acts only when the caller names it, else answers the current duty
(the caller computes again and calls once more). The duty is a copy of what
PostgreSQL says, written after each commit that changes it and kept
``DUTY_TTL_SECONDS``: a copy lost (evicted, a write missed while Redis was down) is
read again from PostgreSQL by the next ping, so it is never stale for longer.

The web entry's pings call the script on the event loop through the kernel's lean
client (:mod:`foodiefast.loop_redis`). Every call has connect and read timeouts and
no retry: a stopped or frozen Redis
costs a call :data:`TIMEOUT_SECONDS`, then the clients are withheld for
:data:`BREAKER_SECONDS` (calls fail at once). Writers raise :class:`Unavailable`;
readers get None and fall back to PostgreSQL.

Without Redis (the embedded ``make run``) the same is kept in this process's memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.backoff import NoBackoff
from redis.retry import Retry

from apps.tracking.channel import LOCATION, PUBLISH_FUNCTION_LUA, memory_publish, publish_call
from foodiefast.loop_redis import Head, LoopRedis, LoopRedisError, LoopScript, ReplyError

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
    # A digest of the fields above as Redis holds them ("v" in the hash): a ping names
    # the duty it computed its event from, and Redis takes it only when it matches.
    version: str = field(default="", compare=False)

    def as_hash(self) -> dict[str, str]:
        fields = self._fields()
        return {**fields, "v": _digest(fields)}

    def stamped(self) -> Duty:
        """This duty with its version, as :meth:`as_hash` stores it."""
        return replace(self, version=_digest(self._fields()))

    def _fields(self) -> dict[str, str]:
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
            version=fields.get("v", ""),
        )


def _digest(fields: dict[str, str]) -> str:
    text = "\x1f".join(f"{name}={value}" for name, value in sorted(fields.items()))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Pinged:
    """What a ping found: ``duty`` None when Redis holds no copy (read it from
    PostgreSQL, :func:`duty_store`, and ping again); ``kept`` the indexes of the
    batch's points the trail keeps (already remembered as the last kept: the caller
    writes them); ``moved`` whether the newest point became the courier's position;
    ``published`` the id of the ``location`` event it published on the delivery's
    channel ("" for none)."""

    duty: Duty | None
    moved: bool = False
    kept: tuple[int, ...] = ()
    vouched: bool = True  # False: not the sign-in the caller expected, nothing done
    published: str = ""


# The event a ping publishes, from the duty the caller believes current: (duty) ->
# the ``location`` event's data as JSON (channel.encode_data).
EventOf = Callable[[Duty], str]


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


# KEYS: duty, position, last trail point, sign-in, then the delivery's channel (log,
# end marker, newest by kind: channel.publish_call). ARGV: min seconds, min metres,
# position TTL, the sign-in digest the caller expects ('' for none), the version of
# the duty the caller computed the event from, the channel's publish arguments but
# the event's data (maxlen, kind, final, ttl ms, ended ttl ms, feed), then the event's
# data ('' for none), then the points oldest first as lat, lng, at. All but the data
# and the points are the same for a courier's every ping on one duty: the web entry
# sends them encoded once (:func:`_ping_head`). Returns {"auth"} (not the expected sign-in), {"miss"}
# (no copy of the duty), {"duty", duty as JSON} (not the duty the caller named: call
# again with this one), each having done nothing, or {"ok", moved, kept indexes,
# the published event's id or ""}. A point is kept in the trail when it is the
# delivery's first, or TRAIL_MIN_SECONDS after the last kept, or TRAIL_MIN_METRES
# from it; the newest point, when it moved the courier on a delivery, is published.
PING_SCRIPT = (
    PUBLISH_FUNCTION_LUA
    + """
if ARGV[4] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[4] then return {'auth'} end
local d = redis.call('HMGET', KEYS[1], 'v', 'online', 'delivery')
if not d[1] and redis.call('EXISTS', KEYS[1]) == 0 then return {'miss'} end
if (d[1] or '') ~= ARGV[5] then
  local duty = redis.call('HGETALL', KEYS[1])
  local all = {}
  for i = 1, #duty, 2 do all[duty[i]] = duty[i + 1] end
  return {'duty', cjson.encode(all)}
end
d = {online = d[2], delivery = d[3]}
local base = 12
local n = (#ARGV - base) / 3
local min_s, min_m, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local moved = 0
local kept = {}
local published = ''
if d['online'] == '1' or d['delivery'] ~= '' then
  local b = base + (n - 1) * 3
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
      local o = base + (i - 1) * 3
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
    if value then redis.call('SET', KEYS[3], value, 'EX', ttl) end
    if moved == 1 and ARGV[12] ~= '' then
      published = channel_publish(KEYS[5], KEYS[6], KEYS[7], ARGV[6], ARGV[7], ARGV[12], ARGV[8], ARGV[9],
        ARGV[10], ARGV[11]) or ''
    end
  end
end
return {'ok', moved, kept, published}
"""
)
# A version no duty has: the caller knows none yet.
NO_VERSION = "-"
# Courier id -> the duty this process last saw in Redis (the event of the next ping is
# computed from it). Bounded: emptied when full.
_duties: dict[str, Duty] = {}
DUTIES_MAX = 10_000


def _ping_head(courier_id: str, duty: Duty | None, vouched: str) -> tuple[list[str], list]:
    """The keys and the leading arguments of :data:`PING_SCRIPT` for a ping relying on
    ``duty`` (None: unknown): all but the event's data and the points."""
    reference = duty.reference if duty is not None and duty.delivery else ""
    channel_keys, (maxlen, kind, _, final, ttl_ms, ended_ttl_ms, feed) = publish_call(reference, LOCATION, "", False)
    args = [
        settings.TRAIL_MIN_SECONDS,
        settings.TRAIL_MIN_METRES,
        POSITION_TTL_SECONDS,
        vouched,
        duty.version if duty is not None else NO_VERSION,
        maxlen,
        kind,
        final,
        ttl_ms,
        ended_ttl_ms,
        feed,
    ]
    keys = [_duty_key(courier_id), _pos_key(courier_id), _trail_key(courier_id), _auth_key(courier_id)]
    return keys + channel_keys, args


def _ping_tail(duty: Duty | None, points: list[Fix], event_of: EventOf) -> list[str]:
    """The rest of :data:`PING_SCRIPT`'s arguments: the event's data, the points."""
    tail = [event_of(duty) if duty is not None and duty.delivery else ""]
    for point in points:
        tail += (repr(point.lat), repr(point.lng), repr(point.at))
    return tail


# (courier id, duty version, sign-in digest) -> the encoded head of the loop's calls
# for it. Bounded: emptied when full; emptied when a setting it holds changes.
_heads: dict[tuple[str, str, str], Head] = {}
HEADS_MAX = 10_000
_HEAD_SETTINGS = frozenset(
    {"TRAIL_MIN_SECONDS", "TRAIL_MIN_METRES", "TRACKING_CHANNEL_TTL_SECONDS", "TRACKING_CHANNEL_ENDED_TTL_SECONDS"}
)


@receiver(setting_changed)
def _forget_heads(*, setting: str, **kwargs) -> None:
    if setting in _HEAD_SETTINGS or setting == "REDIS_URL":
        _heads.clear()


def _loop_head(courier_id: str, duty: Duty | None, vouched: str) -> Head:
    key = (courier_id, duty.version if duty is not None else NO_VERSION, vouched)
    head = _heads.get(key)
    if head is None:
        if len(_heads) >= HEADS_MAX:
            _heads.clear()
        head = _heads[key] = Head(*_ping_head(courier_id, duty, vouched))
    return head


def _pinged(courier_id: str, duty: Duty | None, answer: list) -> Pinged | None:
    """:data:`PING_SCRIPT`'s answer; None when the call named another duty than
    Redis holds (now remembered: call again)."""
    if answer[0] == "auth":
        return Pinged(duty=None, vouched=False)
    if answer[0] == "miss":
        return Pinged(duty=None)
    if answer[0] == "duty":
        if len(_duties) >= DUTIES_MAX:
            _duties.clear()
        _duties[courier_id] = Duty.from_hash(json.loads(answer[1]))
        return None
    return Pinged(
        duty=duty,
        moved=bool(int(answer[1])),
        kept=tuple(int(index) for index in answer[2]),
        published=answer[3] or "",
    )


# A duty that changes between the calls of one ping again and again: read it anew.
PING_ATTEMPTS = 3
_ping_script = LoopScript(PING_SCRIPT)


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
        self.loop_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopRedis] = weakref.WeakKeyDictionary()

    def _failed(self, exc: BaseException) -> Unavailable:
        self.down_until = time.monotonic() + BREAKER_SECONDS
        logger.warning("tracking: redis unavailable", extra={"error": exc.__class__.__name__})
        return Unavailable(str(exc))

    def call(self, fn):
        if time.monotonic() < self.down_until:
            raise Unavailable("redis breaker open")
        try:
            return fn(self.client)
        except UNAVAILABLE as exc:
            raise self._failed(exc) from exc

    def ping(self, courier_id: str, points: list[Fix], vouched: str, event_of: EventOf) -> Pinged:
        for _ in range(PING_ATTEMPTS):
            duty = _duties.get(courier_id)
            keys, args = _ping_head(courier_id, duty, vouched)
            args += _ping_tail(duty, points, event_of)
            answer = self.call(lambda client, keys=keys, args=args: self.script(keys=keys, args=args, client=client))
            pinged = _pinged(courier_id, duty, answer)
            if pinged is not None:
                return pinged
        return Pinged(duty=None)

    async def ping_async(self, courier_id: str, points: list[Fix], vouched: str, event_of: EventOf) -> Pinged:
        """:meth:`ping` on the event loop: this loop's own lean client."""
        loop = asyncio.get_running_loop()
        client = self.loop_clients.get(loop)
        if client is None:
            client = self.loop_clients[loop] = LoopRedis(self.url, timeout=TIMEOUT_SECONDS)
        for _ in range(PING_ATTEMPTS):
            if time.monotonic() < self.down_until:
                raise Unavailable("redis breaker open")
            duty = _duties.get(courier_id)
            try:
                answer = await _ping_script.call(
                    client, _loop_head(courier_id, duty, vouched), _ping_tail(duty, points, event_of)
                )
            except (LoopRedisError, ReplyError) as exc:
                raise self._failed(exc) from exc
            pinged = _pinged(courier_id, duty, answer)
            if pinged is not None:
                return pinged
        return Pinged(duty=None)

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

    def ping(self, courier_id: str, points: list[Fix], vouched: str, event_of: EventOf) -> Pinged:
        pinged = self._record(courier_id, points)
        duty = pinged.duty
        if duty is None or not duty.delivery or not pinged.moved:
            return pinged
        published = memory_publish(reference=duty.reference, kind=LOCATION, data_json=event_of(duty))
        return replace(pinged, published=published)

    def _record(self, courier_id: str, points: list[Fix]) -> Pinged:
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
                if last is not None:
                    self.trail[courier_id] = last
            return Pinged(duty=duty, moved=moved, kept=tuple(kept))

    def duty_store(self, courier_id: str, duty: Duty) -> None:
        with self.lock:
            self.duties[courier_id] = duty.stamped()

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


def ping(*, courier_id: str, points: list[Fix], event_of: EventOf, vouched: str = "") -> Pinged:
    """Record a batch (oldest first) and publish its newest point on the delivery's
    channel (``event_of(duty)``: the event's data as JSON), in one round trip (two
    when this process has not seen the courier's current duty yet); raises
    :class:`Unavailable`. ``vouched``: do nothing unless the sign-in
    :func:`auth_store` remembered is this."""
    return store().ping(courier_id, points, vouched, event_of)


async def ping_async(*, courier_id: str, points: list[Fix], event_of: EventOf, vouched: str) -> Pinged:
    """:func:`ping` on the running event loop (Redis only); raises :class:`Unavailable`."""
    found = store()
    if not isinstance(found, _RedisStore):
        raise Unavailable("no redis")
    return await found.ping_async(courier_id, points, vouched, event_of)


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
