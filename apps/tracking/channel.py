"""The per-order event channel: what a customer's tracking stream shows, in order.

Tracking (courier positions) and orders (status moves) publish into a channel named
by the order's opaque ``reference``; the customer's stream (``apps.orders.stream``)
reads it. Each channel is two things in Redis, written together by one Lua script
(one round trip, atomic, so the log and the live feed never disagree on order):

- a log, a Redis Stream per reference (``XADD``): the events with their ids, bounded
  to :data:`MAXLEN` entries, kept ``TRACKING_CHANNEL_TTL_SECONDS`` after the last event
  (the order's life plus a margin) and ``TRACKING_CHANNEL_ENDED_TTL_SECONDS`` after the
  final one. A reconnecting client asks for the events after its ``Last-Event-ID``;
- the newest event of each kind (a hash), so a new stream starts from the courier's
  latest position in one read;
- a live feed, a pub/sub channel per reference (``PUBLISH``) that the web processes
  subscribe to for the orders they stream (:mod:`apps.tracking.live`).

An event published with ``final=True`` (an order delivered or cancelled) ends the
channel: the end marker keeps its id, and whatever is published afterwards (a late
courier ping) is dropped. Event ids are the stream's (``<ms>-<seq>``), increasing.

Every call is bounded (connect and read timeouts, no retry) and raises
:class:`ChannelUnavailable` (503 ``service_unavailable``) when Redis is unreachable.
Without ``REDIS_URL`` (debug, the embedded mode: one process) the channel lives in
the process's memory, with the same behaviour.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from foodiefast.errors import ServiceUnavailable

logger = logging.getLogger("apps.tracking")

STATUS = "status"
LOCATION = "location"
# A ping every 4 s for two hours; older entries of a longer delivery are trimmed.
MAXLEN = 2000
# How many events a reconnecting client is sent at most (everything the log keeps).
REPLAY_LIMIT = MAXLEN
REDIS_TIMEOUT_SECONDS = 0.5
# What a Redis call may raise when Redis is down, frozen or refusing.
UNAVAILABLE = (redis.RedisError, OSError, TimeoutError)
_EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


class ChannelUnavailable(ServiceUnavailable):
    """Redis, which carries the channel, is unreachable."""

    detail = _("Live tracking is unavailable right now; try again shortly.")


@dataclass(frozen=True)
class ChannelEvent:
    id: str
    kind: str
    data: dict[str, Any]
    final: bool = False


def is_event_id(value: str | None) -> bool:
    """Whether ``value`` looks like an id this channel gave (a client's ``Last-Event-ID``)."""
    return bool(value) and bool(_EVENT_ID.match(value))


def id_key(event_id: str) -> tuple[int, int]:
    """Ids in their order (``"10-0"`` after ``"9-5"``)."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


# ---------------------------------------------------------------------------
# Names and the wire format of the live feed
# ---------------------------------------------------------------------------


def _db() -> int:
    return _db_of(settings.REDIS_URL or "")


@functools.lru_cache(maxsize=8)
def _db_of(url: str) -> int:
    return int(redis.connection.parse_url(url).get("db") or 0) if url else 0


def log_key(reference: str) -> str:
    return f"ff:channel:{reference}"


def end_key(reference: str) -> str:
    return f"ff:channel:{reference}:end"


def latest_key(reference: str) -> str:
    """A hash: the newest event of each kind, as the live feed carries it."""
    return f"ff:channel:{reference}:latest"


def feed_name(reference: str) -> str:
    """The pub/sub channel of ``reference``. Pub/sub ignores Redis dbs: the db is in
    the name, so two deployments on one server (each its own db) never cross."""
    return f"ff:{_db()}:channel:{reference}"


def reference_of(feed: str) -> str:
    return feed.split(":", 3)[3]


def encode_message(event_id: str, kind: str, final: bool, data_json: str) -> str:
    return f"{event_id}\n{kind}\n{'1' if final else '0'}\n{data_json}"


def decode_message(message: str | bytes) -> ChannelEvent:
    if isinstance(message, bytes):
        message = message.decode()
    event_id, kind, final, data = message.split("\n", 3)
    return ChannelEvent(id=event_id, kind=kind, data=json.loads(data), final=final == "1")


def _from_entry(entry_id: bytes | str, fields: dict) -> ChannelEvent:
    def text(value: bytes | str) -> str:
        return value.decode() if isinstance(value, bytes) else value

    values = {text(k): text(v) for k, v in fields.items()}
    return ChannelEvent(id=text(entry_id), kind=values["k"], data=json.loads(values["d"]), final=values.get("f") == "1")


# XADD + the newest of its kind + PEXPIRE + PUBLISH in one step; nothing once the
# channel has ended. A Lua function, so that a script of another module may publish
# as part of its own step (tracking's ping script does). Its id, or false.
PUBLISH_FUNCTION_LUA = """
local function channel_publish(log, ended, latest, maxlen, kind, data, final, ttl, ended_ttl, feed)
  if redis.call('EXISTS', ended) == 1 then return false end
  local id = redis.call('XADD', log, 'MAXLEN', '~', maxlen, '*', 'k', kind, 'd', data, 'f', final)
  local message = id .. '\\n' .. kind .. '\\n' .. final .. '\\n' .. data
  redis.call('HSET', latest, kind, message)
  if final == '1' then
    ttl = ended_ttl
    redis.call('SET', ended, id, 'PX', ttl)
  end
  redis.call('PEXPIRE', log, ttl)
  redis.call('PEXPIRE', latest, ttl)
  redis.call('PUBLISH', feed, message)
  return id
end
"""
# KEYS: log, end marker, newest by kind (:func:`publish_call`). ARGV: maxlen, kind,
# data, final (0/1), ttl ms, ended ttl ms, feed.
_PUBLISH_LUA = PUBLISH_FUNCTION_LUA + (
    "return channel_publish(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])"
)


# ---------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------

_sync: dict[str, tuple[redis.Redis, Any]] = {}
_sync_lock = threading.Lock()
_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = weakref.WeakKeyDictionary()


def client_options() -> dict[str, Any]:
    return {
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_timeout": REDIS_TIMEOUT_SECONDS,
        "health_check_interval": 0,
    }


def _retry(kind):
    """Once more on a fresh connection when a pooled one turns out dead (Redis was
    restarted): cheap. Never after a timeout: a frozen Redis costs one timeout."""
    return kind(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))


def _sync_client() -> tuple[redis.Redis, Any]:
    """The process's client (thread-safe pool) and its registered publish script."""
    url = settings.REDIS_URL
    found = _sync.get(url)
    if found is None:
        with _sync_lock:
            found = _sync.get(url)
            if found is None:
                client = redis.Redis.from_url(url, retry=_retry(Retry), **client_options())
                found = _sync[url] = (client, client.register_script(_PUBLISH_LUA))
    return found


def _async_client() -> aioredis.Redis:
    loop = asyncio.get_running_loop()
    client = _async.get(loop)
    if client is None:
        client = _async[loop] = aioredis.Redis.from_url(
            settings.REDIS_URL, retry=_retry(AsyncRetry), **client_options()
        )
    return client


# After a failed call, calls fail at once for this long (no wait on a frozen Redis
# per request), then Redis is tried again.
BREAKER_SECONDS = 1.0
_down_until: dict[str, float] = {}


def _check_breaker() -> None:
    if time.monotonic() < _down_until.get(settings.REDIS_URL, 0.0):
        raise ChannelUnavailable()


def _unavailable(exc: BaseException) -> ChannelUnavailable:
    _down_until[settings.REDIS_URL] = time.monotonic() + BREAKER_SECONDS
    logger.warning("channel: redis unavailable", extra={"error": exc.__class__.__name__})
    return ChannelUnavailable()


def _call(command: Callable[[], Any]) -> Any:
    """Run one Redis call, as :class:`ChannelUnavailable` when Redis is unreachable."""
    _check_breaker()
    try:
        return command()
    except UNAVAILABLE as exc:
        raise _unavailable(exc) from exc


async def _acall(command: Callable[[], Awaitable[Any]]) -> Any:
    """:func:`_call` on the event loop."""
    _check_breaker()
    try:
        return await command()
    except UNAVAILABLE as exc:
        raise _unavailable(exc) from exc


# ---------------------------------------------------------------------------
# Publishing
# ---------------------------------------------------------------------------


def channel_publish(*, reference: str, kind: str, data: dict[str, Any], final: bool = False) -> str:
    """Append an event to ``reference``'s log and send it to the streams following it,
    atomically and in order; its id. ``final`` ends the channel (the log is then kept
    ``TRACKING_CHANNEL_ENDED_TTL_SECONDS``); publishing into an ended channel does
    nothing and answers ``""``. Raises :class:`ChannelUnavailable` when Redis is
    unreachable (within about :data:`REDIS_TIMEOUT_SECONDS`, at once for
    :data:`BREAKER_SECONDS` after a failure)."""
    data_json = encode_data(data)
    if not settings.REDIS_URL:
        return _memory.publish(reference, kind, data_json, final)
    _, script = _sync_client()
    keys, args = publish_call(reference, kind, data_json, final)
    event_id = _call(lambda: script(keys=keys, args=args))
    return event_id.decode() if event_id else ""


_encoder = json.JSONEncoder(separators=(",", ":"), default=str)


def encode_data(data: dict[str, Any]) -> str:
    """An event's data as the channel carries it (JSON)."""
    return _encoder.encode(data)


def memory_publish(*, reference: str, kind: str, data_json: str) -> str:
    """Without Redis: publish already encoded data (:func:`encode_data`) in this
    process's channel; its id, ``""`` once the channel ended."""
    return _memory.publish(reference, kind, data_json, False)


def publish_call(reference: str, kind: str, data_json: str, final: bool) -> tuple[list[str], list]:
    """The keys and arguments of the publish script (its function's, in that order)."""
    ttl_ms = settings.TRACKING_CHANNEL_TTL_SECONDS * 1000
    ended_ttl_ms = settings.TRACKING_CHANNEL_ENDED_TTL_SECONDS * 1000
    args = [MAXLEN, kind, data_json, "1" if final else "0", ttl_ms, ended_ttl_ms, feed_name(reference)]
    return [log_key(reference), end_key(reference), latest_key(reference)], args


# ---------------------------------------------------------------------------
# Reading: sync (WSGI threads) and async (the stream's event loop), same answers
# ---------------------------------------------------------------------------


def _since_args(reference: str, after: str | None) -> tuple[str, str, str]:
    return log_key(reference), f"({after}" if is_event_id(after) else "-", "+"


def _events(entries: list) -> list[ChannelEvent]:
    return [_from_entry(entry_id, fields) for entry_id, fields in entries]


def _newest(messages: dict) -> dict[str, ChannelEvent]:
    events = (decode_message(message) for message in messages.values())
    return {event.kind: event for event in events}


def channel_events_since(*, reference: str, after: str | None = None) -> list[ChannelEvent]:
    """The events of ``reference`` after the id ``after`` (all of them without one, or
    when it is not an id of ours), oldest first. Raises :class:`ChannelUnavailable`."""
    if not settings.REDIS_URL:
        return _memory.since(reference, after)
    client, _ = _sync_client()
    return _events(_call(lambda: client.xrange(*_since_args(reference, after), count=REPLAY_LIMIT)))


def channel_newest(*, reference: str) -> dict[str, ChannelEvent]:
    """The newest event of each kind in ``reference``'s channel (``{}`` for a channel
    nothing was published into, or forgotten). The newest of them all is the one with
    the greatest id; the channel has ended when it is ``final``. Raises
    :class:`ChannelUnavailable`."""
    if not settings.REDIS_URL:
        return _memory.newest(reference)
    client, _ = _sync_client()
    return _newest(_call(lambda: client.hgetall(latest_key(reference))))


def channel_latest(*, reference: str, kind: str) -> ChannelEvent | None:
    """The newest event of ``kind`` in ``reference``'s channel, or None. Raises
    :class:`ChannelUnavailable`."""
    if not settings.REDIS_URL:
        return _memory.newest(reference).get(kind)
    client, _ = _sync_client()
    message = _call(lambda: client.hget(latest_key(reference), kind))
    return decode_message(message) if message else None


async def channel_events_since_async(*, reference: str, after: str | None = None) -> list[ChannelEvent]:
    """:func:`channel_events_since` for the event loop."""
    if not settings.REDIS_URL:
        return _memory.since(reference, after)
    client = _async_client()
    return _events(await _acall(lambda: client.xrange(*_since_args(reference, after), count=REPLAY_LIMIT)))


async def channel_newest_async(*, reference: str) -> dict[str, ChannelEvent]:
    """:func:`channel_newest` for the event loop."""
    if not settings.REDIS_URL:
        return _memory.newest(reference)
    client = _async_client()
    return _newest(await _acall(lambda: client.hgetall(latest_key(reference))))


def newest_id(events: Iterable[ChannelEvent]) -> str | None:
    """The greatest id among ``events`` (None when there are none)."""
    return max((event.id for event in events), key=id_key, default=None)


# ---------------------------------------------------------------------------
# The embedded mode: one process, no Redis
# ---------------------------------------------------------------------------


class _MemoryChannels:
    """The channel in this process's memory (no expiry: a development server)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.logs: dict[str, list[ChannelEvent]] = {}
        self.ended: set[str] = set()
        self.listeners: list[Callable[[str, str], None]] = []
        self._last = (0, 0)

    def _next_id(self) -> str:
        ms = int(time.time() * 1000)
        self._last = (ms, 0) if ms > self._last[0] else (self._last[0], self._last[1] + 1)
        return f"{self._last[0]}-{self._last[1]}"

    def publish(self, reference: str, kind: str, data_json: str, final: bool) -> str:
        with self.lock:
            if reference in self.ended:
                return ""
            event = ChannelEvent(id=self._next_id(), kind=kind, data=json.loads(data_json), final=final)
            log = self.logs.setdefault(reference, [])
            log.append(event)
            del log[:-MAXLEN]
            if final:
                self.ended.add(reference)
            listeners = list(self.listeners)
        for listener in listeners:
            listener(feed_name(reference), encode_message(event.id, kind, final, data_json))
        return event.id

    def since(self, reference: str, after: str | None) -> list[ChannelEvent]:
        with self.lock:
            log = list(self.logs.get(reference, ()))
        if not is_event_id(after):
            return log
        return [event for event in log if id_key(event.id) > id_key(after)]

    def newest(self, reference: str) -> dict[str, ChannelEvent]:
        with self.lock:
            log = list(self.logs.get(reference, ()))
        return {event.kind: event for event in log}


_memory = _MemoryChannels()


def add_memory_listener(listener: Callable[[str, str], None]) -> Callable[[], None]:
    """Without Redis: ``listener(feed, message)`` is called (in the publishing thread)
    for each event published in this process. Returns the way to remove it."""
    _memory.listeners.append(listener)
    return lambda: _memory.listeners.remove(listener)
