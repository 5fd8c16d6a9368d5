"""The web process's one Redis pub/sub connection, shared by every stream it holds.

A stream asks the :class:`Hub` of its event loop for a :class:`Subscription` to an
order's channel (:mod:`apps.tracking.channel`); the hub subscribes the order's feed
once, on its one connection, however many streams follow that order, and fans each
message out to their in-process queues. The first stream of an order waits (briefly)
for Redis to confirm the subscription, so what it then reads from the channel's log
and what the feed brings overlap rather than leave a gap; streams drop what they
already sent by id.

The connection has connect and read deadlines: the hub pings Redis every
:data:`PING_SECONDS` and drops a connection that stays silent (a frozen server), then
reconnects with a growing pause (up to :data:`MAX_BACKOFF_SECONDS`) and subscribes
every followed feed again. Meanwhile streams keep their heartbeat; once a feed is
back, its streams get :data:`RESYNC` and read what they missed from the log.

When the process stops (SIGTERM, ``foodiefast.serving.on_drain``) every subscription
gets :data:`DRAIN`: streams end with a ``retry:`` hint and clients reconnect to
another process with ``Last-Event-ID``.

This is a small RESP client of its own rather than redis-py's ``PubSub``: one reader
task per process, writes (SUBSCRIBE, UNSUBSCRIBE, PING) under one lock, and nothing
per message but a split and a JSON parse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import time
import weakref
from collections import deque
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings

from apps.tracking import channel
from foodiefast.serving import on_drain

logger = logging.getLogger("apps.tracking")

PING_SECONDS = 5.0
# A connection that answered nothing (not even a ping) for this long is dropped.
SILENCE_SECONDS = 3 * PING_SECONDS
MAX_BACKOFF_SECONDS = 2.0
# Events a slow client may fall behind before its stream is ended (it reconnects with
# Last-Event-ID and misses nothing).
QUEUE_LIMIT = 1000
SUBSCRIBE_CHUNK = 500
CLIENT_NAME = "foodiefast-tracking-feed"


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


RESYNC = _Marker("RESYNC")  # the feed was lost and is back: read the log since the last id
DRAIN = _Marker("DRAIN")  # the process is stopping
OVERFLOW = _Marker("OVERFLOW")  # the client fell too far behind
CLOSED = _Marker("CLOSED")  # the client went away (pushed by the stream itself)


class Subscription:
    """One stream's queue of channel events and markers."""

    __slots__ = ("__weakref__", "feed", "items", "waiter")

    def __init__(self, feed: str) -> None:
        self.feed = feed
        self.items: deque = deque()
        self.waiter: asyncio.Future | None = None

    def push(self, item) -> None:
        if len(self.items) >= QUEUE_LIMIT:
            self.items.clear()
            item = OVERFLOW
        self.items.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def get(self, timeout: float):
        """The next event or marker, or None after ``timeout`` seconds with nothing."""
        if not self.items:
            loop = asyncio.get_running_loop()
            waiter = self.waiter = loop.create_future()
            timer = loop.call_later(timeout, _wake, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self.waiter = None
        return self.items.popleft() if self.items else None


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _ProtocolError(Exception):
    pass


def _command(*args: str | bytes) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


async def _read_reply(reader: asyncio.StreamReader):
    """One RESP2 reply (what pub/sub and AUTH answer)."""
    line = await reader.readuntil(b"\r\n")
    kind, rest = line[:1], line[1:-2]
    if kind == b"*":
        return [await _read_reply(reader) for _ in range(int(rest))]
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else (await reader.readexactly(size + 2))[:-2]
    if kind == b":":
        return int(rest)
    if kind == b"+":
        return rest
    if kind == b"-":
        raise _ProtocolError(rest.decode(errors="replace"))
    raise _ProtocolError(f"unexpected reply {line[:20]!r}")


def _connection_target(url: str) -> dict:
    """Host, port, credentials and TLS of ``url`` (``redis://`` or ``rediss://``)."""
    parts = urlsplit(url)
    target = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 6379,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "ssl": None,
    }
    if parts.scheme == "rediss":
        context = ssl.create_default_context()
        if parse_qs(parts.query).get("ssl_cert_reqs", [""])[0].lower() in ("none", "cert_none"):
            # Heroku Redis presents a self-signed certificate and documents this setting.
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        target["ssl"] = context
    return target


_CONNECTION_ERRORS = (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, _ProtocolError)


class Hub:
    """The feeds this process follows, on one connection (see the module's doc)."""

    def __init__(self) -> None:
        self.feeds: dict[str, set[Subscription]] = {}
        self.confirmed: set[str] = set()
        self.pending: dict[str, int] = {}
        self.waiters: dict[str, list[asyncio.Future]] = {}
        self.lost: set[str] = set()  # feeds followed when the connection was lost
        self.lock = asyncio.Lock()
        self.writer: asyncio.StreamWriter | None = None
        self.last_heard = 0.0
        self.draining = False
        self.runner: asyncio.Task | None = None
        self.remove_memory_listener = None
        self.messages = 0
        self.resynced: list[str] = []
        self.resync_listeners: list = []

    # -- what streams call -------------------------------------------------

    async def subscribe(self, reference: str) -> Subscription:
        """Follow ``reference``'s channel; returns once Redis confirmed the feed.
        Raises :class:`~apps.tracking.channel.ChannelUnavailable` when it does not
        within about :data:`~apps.tracking.channel.REDIS_TIMEOUT_SECONDS`."""
        feed = channel.feed_name(reference)
        subscription = Subscription(feed)
        if self.draining:
            subscription.push(DRAIN)
        async with self.lock:
            followers = self.feeds.setdefault(feed, set())
            followers.add(subscription)
            self._start()
            if feed in self.confirmed or not settings.REDIS_URL:
                return subscription
            waiter = asyncio.get_running_loop().create_future()
            self.waiters.setdefault(feed, []).append(waiter)
            if len(followers) == 1 and self.writer is not None:
                await self._subscribe_locked([feed])
        try:
            await asyncio.wait_for(waiter, timeout=2 * channel.REDIS_TIMEOUT_SECONDS)
        except TimeoutError:
            await self.unsubscribe(subscription)
            raise channel.ChannelUnavailable() from None
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        feed = subscription.feed
        async with self.lock:
            followers = self.feeds.get(feed)
            if followers is None:
                return
            followers.discard(subscription)
            if followers:
                return
            del self.feeds[feed]
            self.confirmed.discard(feed)
            self.lost.discard(feed)
            if self.writer is not None and settings.REDIS_URL:
                with contextlib.suppress(OSError, RuntimeError):
                    self.writer.write(_command("UNSUBSCRIBE", feed))

    def streams(self) -> int:
        return sum(len(followers) for followers in self.feeds.values())

    # -- the connection ----------------------------------------------------

    def _start(self) -> None:
        if self.runner is not None:
            return
        if not settings.REDIS_URL:
            loop = asyncio.get_running_loop()
            self.remove_memory_listener = channel.add_memory_listener(
                lambda feed, message: loop.call_soon_threadsafe(self._dispatch, feed, message)
            )
            self.runner = loop.create_future()  # nothing to run: the memory listener feeds us
            return
        self.runner = asyncio.get_running_loop().create_task(self._run(), name="tracking-feed")

    async def _subscribe_locked(self, feeds: list[str]) -> None:
        for start in range(0, len(feeds), SUBSCRIBE_CHUNK):
            chunk = feeds[start : start + SUBSCRIBE_CHUNK]
            for feed in chunk:
                self.pending[feed] = self.pending.get(feed, 0) + 1
            self.writer.write(_command("SUBSCRIBE", *chunk))
        with contextlib.suppress(OSError, RuntimeError):
            await asyncio.wait_for(self.writer.drain(), timeout=channel.REDIS_TIMEOUT_SECONDS)

    async def _connect(self) -> asyncio.StreamReader:
        target = _connection_target(settings.REDIS_URL)
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(target["host"], target["port"], ssl=target["ssl"]),
            timeout=channel.REDIS_TIMEOUT_SECONDS,
        )
        try:
            if target["password"]:
                auth = [target["username"], target["password"]] if target["username"] else [target["password"]]
                writer.write(_command("AUTH", *auth))
                await asyncio.wait_for(_read_reply(reader), timeout=channel.REDIS_TIMEOUT_SECONDS)
            # Named, so that CLIENT LIST shows which process holds which subscription.
            writer.write(_command("CLIENT", "SETNAME", f"{CLIENT_NAME}-{os.getpid()}"))
            await asyncio.wait_for(_read_reply(reader), timeout=channel.REDIS_TIMEOUT_SECONDS)
        except BaseException:
            writer.close()
            raise
        self.last_heard = time.monotonic()
        async with self.lock:
            self.writer = writer
            self.pending.clear()
            if self.feeds:
                await self._subscribe_locked(list(self.feeds))
        return reader

    async def _run(self) -> None:
        backoff = 0.1
        while not self.draining:
            pinger = None
            try:
                reader = await self._connect()
                backoff = 0.1
                pinger = asyncio.get_running_loop().create_task(self._ping())
                await self._read(reader)
            except (
                OSError,
                TimeoutError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                _ProtocolError,
            ) as exc:
                logger.warning("tracking feed: redis unavailable", extra={"error": exc.__class__.__name__})
            finally:
                if pinger is not None:
                    pinger.cancel()
                await self._lose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _lose(self) -> None:
        async with self.lock:
            if self.writer is not None:
                self.writer.close()
            self.writer = None
            self.lost |= self.confirmed
            self.confirmed.clear()
            self.pending.clear()

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(PING_SECONDS)
            writer = self.writer
            if writer is None:
                return
            if time.monotonic() - self.last_heard > SILENCE_SECONDS:
                logger.warning("tracking feed: redis silent, reconnecting")
                writer.transport.abort()
                return
            writer.write(_command("PING"))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            reply = await _read_reply(reader)
            self.last_heard = time.monotonic()
            if not isinstance(reply, list) or not reply:
                continue
            kind = reply[0]
            if kind == b"message":
                self._dispatch(reply[1].decode(), reply[2])
            elif kind == b"subscribe":
                self._confirm(reply[1].decode())

    def _confirm(self, feed: str) -> None:
        left = self.pending.get(feed, 0) - 1
        if left > 0:
            self.pending[feed] = left
            return
        self.pending.pop(feed, None)
        if feed not in self.feeds:
            return
        self.confirmed.add(feed)
        for waiter in self.waiters.pop(feed, ()):
            if not waiter.done():
                waiter.set_result(None)
        if feed in self.lost:
            self.lost.discard(feed)
            for subscription in list(self.feeds[feed]):
                subscription.push(RESYNC)
            if not self.resynced:
                asyncio.get_running_loop().call_soon(self._tell_resynced)
            self.resynced.append(channel.reference_of(feed))

    def on_resync(self, listener) -> None:
        """``listener(references)`` is called (on the event loop) with the orders whose
        feed came back after Redis was lost: whatever was published meanwhile failed
        and may be re-published (orders re-publishes the status)."""
        self.resync_listeners.append(listener)

    def _tell_resynced(self) -> None:
        references, self.resynced = self.resynced, []
        for listener in self.resync_listeners:
            try:
                listener(references)
            except Exception:  # a listener's failure must not stop the feed
                logger.exception("tracking feed: resync listener failed")

    def _dispatch(self, feed: str, message: bytes | str) -> None:
        followers = self.feeds.get(feed)
        if not followers:
            return
        self.messages += 1
        event = channel.decode_message(message)
        for subscription in list(followers):
            subscription.push(event)

    # -- stopping ----------------------------------------------------------

    def drain(self) -> None:
        """The process is stopping: every stream is told to end."""
        self.draining = True
        for followers in list(self.feeds.values()):
            for subscription in list(followers):
                subscription.push(DRAIN)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """The hub of the running event loop (one per web process)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
        on_drain(found.drain)
        for listener in _resync_listeners:
            found.on_resync(listener)
    return found


_resync_listeners: list = []


def on_resync(listener) -> None:
    """Register ``listener`` with every hub (see :meth:`Hub.on_resync`)."""
    _resync_listeners.append(listener)
    for each in list(_hubs.values()):
        each.on_resync(listener)
