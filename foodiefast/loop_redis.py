"""A lean Redis client for the web entry's event loop: Lua scripts only, pipelined
over one connection per loop.

redis-py's asyncio client spends about 100 µs of Python on each command (its pool,
retry wrapper, packing and parsing layers, a connection per concurrent call); a
location ping answered on the event loop needs one script call and nothing else.
Here each call writes one ``EVALSHA`` on the loop's single connection and waits for
its reply; replies come back in the order the calls were written (Redis answers a
connection's commands in order), so any number of concurrent calls share the
connection without a pool. A script Redis does not know yet (``NOSCRIPT``: Redis
restarted, its cache flushed) is sent once in full with ``EVAL``, which caches it.

Every call is bounded: connecting and each reply within ``timeout`` seconds. A reply
that does not come in time (Redis frozen), a connection refused or lost fails that
call and every call waiting behind it with :class:`LoopRedisError`, and the
connection is dropped: the next call connects afresh. No retry (the caller keeps a
breaker).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from typing import Any
from urllib.parse import unquote, urlsplit


class LoopRedisError(Exception):
    """Redis did not answer in time, refused the connection or lost it."""


class ReplyError(Exception):
    """Redis answered the call with an error (the script failed)."""


class _Incomplete(Exception):
    pass


def _bulk(parts) -> bytes:
    """Arguments of a command in Redis's protocol (RESP), without the count before them."""
    out = []
    for part in parts:
        data = part if type(part) is bytes else str(part).encode()
        out += (b"$%d\r\n" % len(data), data, b"\r\n")
    return b"".join(out)


def encode(*parts: Any) -> bytes:
    """One command in Redis's protocol (RESP)."""
    return b"*%d\r\n" % len(parts) + _bulk(parts)


def _parse(buffer: bytearray, start: int) -> tuple[Any, int]:
    """The reply beginning at ``start`` and where the next begins; raises
    :class:`_Incomplete` when the buffer does not hold all of it yet."""
    end = buffer.find(b"\r\n", start)
    if end < 0:
        raise _Incomplete
    kind = buffer[start]
    line = bytes(buffer[start + 1 : end])
    after = end + 2
    if kind in (43, 45, 58):  # +simple string, -error, :integer
        text = line.decode()
        return (text if kind == 43 else ReplyError(text) if kind == 45 else int(text)), after
    if kind == 36:  # $bulk string
        length = int(line)
        if length < 0:
            return None, after
        if len(buffer) < after + length + 2:
            raise _Incomplete
        return bytes(buffer[after : after + length]).decode(), after + length + 2
    if kind == 42:  # *array
        count = int(line)
        if count < 0:
            return None, after
        items = []
        for _ in range(count):
            item, after = _parse(buffer, after)
            items.append(item)
        return items, after
    raise LoopRedisError(f"unexpected reply from redis: {bytes(buffer[start:end])!r}")


class _Protocol(asyncio.Protocol):
    def __init__(self, client: LoopRedis) -> None:
        self.client = client
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        # The calls written on this connection, in order, waiting for their replies,
        # and when each was written (the loop's clock).
        self.waiting: deque[asyncio.Future] = deque()
        self.sent_at: deque[float] = deque()
        self.outgoing: list[bytes] = []
        self.watchdog: asyncio.TimerHandle | None = None

    def flush(self) -> None:
        outgoing, self.outgoing = self.outgoing, []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(outgoing))

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        waiting = self.waiting
        position = 0
        try:
            while position < len(buffer):
                try:
                    reply, position = _parse(buffer, position)
                except _Incomplete:
                    break
                if waiting:
                    future = waiting.popleft()
                    self.sent_at.popleft()
                    if not future.done():
                        future.set_result(reply)
        except LoopRedisError as exc:
            self.client.drop(self, exc)
            return
        del buffer[:position]

    def connection_lost(self, exc) -> None:
        self.client.drop(self, LoopRedisError(f"redis connection lost: {exc!r}"))


class LoopRedis:
    """Script calls on one pipelined connection, for one event loop."""

    def __init__(self, url: str, *, timeout: float) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        self.db = int(parts.path.lstrip("/") or 0)
        self.password = unquote(parts.password) if parts.password else None
        self.username = unquote(parts.username) if parts.username else None
        self.timeout = timeout
        self.protocol: _Protocol | None = None
        self.connecting: asyncio.Future | None = None

    async def _connection(self) -> _Protocol:
        if self.protocol is not None:
            return self.protocol
        if self.connecting is None:
            self.connecting = asyncio.ensure_future(self._connect())
        try:
            return await asyncio.shield(self.connecting)
        finally:
            if self.connecting is not None and self.connecting.done():
                self.connecting = None

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: _Protocol(self), self.host, self.port), self.timeout
            )
        except (TimeoutError, OSError) as exc:
            raise LoopRedisError(f"redis unreachable: {exc!r}") from exc
        self.protocol = protocol
        hello = []
        if self.password is not None:
            hello.append(("AUTH", self.username, self.password) if self.username else ("AUTH", self.password))
        if self.db:
            hello.append(("SELECT", self.db))
        for command in hello:
            reply = await self._send(protocol, encode(*command))
            if isinstance(reply, ReplyError):
                self.drop(protocol, LoopRedisError(str(reply)))
                raise LoopRedisError(str(reply))
        return protocol

    def _send(self, protocol: _Protocol, command: bytes) -> asyncio.Future:
        if protocol.transport.is_closing():
            self.drop(protocol, LoopRedisError("redis connection closed"))
            raise LoopRedisError("redis connection closed")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        protocol.waiting.append(future)
        protocol.sent_at.append(loop.time())
        # The calls of one turn of the loop leave in one write.
        if not protocol.outgoing:
            loop.call_soon(protocol.flush)
        protocol.outgoing.append(command)
        if protocol.watchdog is None:
            protocol.watchdog = loop.call_later(self.timeout, self._watch, protocol)
        return future

    def _watch(self, protocol: _Protocol) -> None:
        """Every ``timeout`` while calls wait: fail them all if the oldest waited that
        long (Redis frozen), else look again when it will have."""
        protocol.watchdog = None
        if not protocol.sent_at:
            return
        loop = asyncio.get_running_loop()
        overdue = protocol.sent_at[0] + self.timeout - loop.time()
        if overdue <= 0:
            self.drop(protocol, LoopRedisError("redis did not answer in time"))
        else:
            protocol.watchdog = loop.call_later(overdue, self._watch, protocol)

    def drop(self, protocol: _Protocol, exc: Exception) -> None:
        """Forget ``protocol``'s connection and fail every call waiting on it."""
        if self.protocol is protocol:
            self.protocol = None
        waiting, protocol.waiting = protocol.waiting, deque()
        protocol.sent_at.clear()
        if protocol.watchdog is not None:
            protocol.watchdog.cancel()
            protocol.watchdog = None
        for future in waiting:
            if not future.done():
                future.set_exception(exc if isinstance(exc, LoopRedisError) else LoopRedisError(str(exc)))
        if protocol.transport is not None:
            protocol.transport.abort()

    async def call(self, command: bytes) -> Any:
        protocol = await self._connection()
        reply = await self._send(protocol, command)
        if isinstance(reply, ReplyError):
            raise reply
        return reply


class Head:
    """The keys and leading arguments of a script call, encoded once: a caller that
    makes many calls with the same ones keeps it (:meth:`LoopScript.call`)."""

    __slots__ = ("count", "data")

    def __init__(self, keys: list[str], args: list[Any]) -> None:
        parts = [len(keys), *keys, *args]
        self.count = len(parts)
        self.data = _bulk(parts)


class LoopScript:
    """A Lua script called by its SHA (sent in full once when Redis lacks it)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - Redis names scripts so
        self._by_sha = _bulk(("EVALSHA", self.sha))
        self._in_full = _bulk(("EVAL", self.text))

    async def __call__(self, client: LoopRedis, keys: list[str], args: list[Any]) -> Any:
        return await self.call(client, Head(keys, args), [])

    async def call(self, client: LoopRedis, head: Head, tail: list[Any]) -> Any:
        """The script with ``head``'s keys and arguments, then the arguments ``tail``."""
        rest = b"*%d\r\n" % (2 + head.count + len(tail)), head.data + _bulk(tail)
        try:
            return await client.call(rest[0] + self._by_sha + rest[1])
        except ReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        return await client.call(rest[0] + self._in_full + rest[1])
