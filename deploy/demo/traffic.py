"""Real traffic through the balancer for the whole of a demo, every request recorded.

Public API::

    data = seed_data(release, streams=8)   # the traffic's data, written by ``release``
                                           # (deploy/demo/seed.py in its checkout)
    traffic = Traffic(balancer.base_url, data, redis_url=stage.redis.url, load=Load())
    traffic.start()                        # its own thread and event loop
    traffic.phase("1 old up")              # requests started from now on count for this phase
    traffic.records                        # every request so far (a list of Record)
    traffic.stop()                         # pings stop, streams get a moment to catch
                                           # up, then everything stops; returns the records
    traffic.streams_summary()              # opened, reconnects, events, lost, duplicated

What runs (:class:`Load`), each loop one request after the other with a short pause:

- ``browse``: ``GET`` the cached dishes list (200);
- ``checkout``: ``POST /api/v1/orders`` with a fresh ``Idempotency-Key`` and the
  customers' tokens in turn, paid with the demo gateway (201);
- ``ping``: a courier's ``POST /api/v1/courier/location``, the couriers in turn,
  each a step further (202), each a ``location`` event on their order's channel;
- ``stream``: tracking streams of those orders held open (200, ``text/event-stream``).
  When a stream ends with a ``retry:`` hint (a web process stopping) the client waits
  that long and reconnects with ``Last-Event-ID``, as a browser's EventSource does;
  each (re)connection is a request. At the end, every event the channel's log holds
  after a stream's first one must have reached it exactly once (lost and duplicated
  events are counted; a lost one is a failure).

A request fails on a connection error, a timeout, a 5xx or any status but the
expected one; a stream also fails when it ends without a ``retry:`` hint.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import redis

SEED_SCRIPT = Path(__file__).resolve().parent / "seed.py"
HTTPS = {"X-Forwarded-Proto": "https"}
REQUEST_TIMEOUT_SECONDS = 10.0


@dataclass
class Load:
    browse: int = 3
    checkout: int = 2
    ping: int = 2
    streams: int = 8
    # Between two requests of one loop (seconds): steady load, not a saturated machine.
    pause: float = 0.02


@dataclass
class Record:
    kind: str
    phase: str
    started: float  # time.monotonic()
    latency_ms: float
    status: int  # 0: no answer (connection error, timeout)
    ok: bool
    error: str = ""
    # HAProxy's backend/server that answered (X-Served-By), and which release that
    # was, filled in by the demo ("old", "new").
    served_by: str = ""
    release: str = ""


@dataclass
class _Stream:
    order_id: str
    # (event id, event name) in arrival order; on connect a stream's status and
    # location snapshot both carry the newest id, so an id alone is not unique.
    received: list[tuple[str, str]] = field(default_factory=list)
    connections: int = 0


def seed_data(release, *, streams: int) -> dict:
    """The traffic's data (deploy/demo/seed.py), written by ``release``'s code into the
    stage's database; run with this interpreter (the bench's setups need the test
    factories) in the release's checkout."""
    done = subprocess.run(
        [sys.executable, str(SEED_SCRIPT), str(streams)],
        cwd=release.tree,
        env=release.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"seeding with {release.short} failed:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class Traffic:
    def __init__(self, base_url: str, data: dict, *, redis_url: str, load: Load | None = None) -> None:
        self.base_url = base_url
        self.data = data
        self.redis_url = redis_url
        self.load = load or Load()
        self.records: list[Record] = []
        self.current_phase = "start"
        self.phases: list[str] = []
        self.streams: list[_Stream] = []
        self.stream_failures: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._pings_stopping: asyncio.Event | None = None
        self._started = threading.Event()
        self._counter = 0

    # -- control (from the strategy's thread) ------------------------------------

    def start(self) -> Traffic:
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)
        self._thread.start()
        self._started.wait(timeout=10)
        return self

    def phase(self, name: str) -> None:
        self.current_phase = name
        if name not in self.phases:
            self.phases.append(name)

    def stop(self, *, settle: float = 1.5) -> list[Record]:
        if self._loop is None:
            return self.records
        self._loop.call_soon_threadsafe(self._pings_stopping.set)
        time.sleep(settle)  # the last events reach the streams
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout=30)
        return self.records

    def failures(self) -> list[Record]:
        return [r for r in self.records if not r.ok]

    # -- the event loop ------------------------------------------------------------

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._pings_stopping = asyncio.Event()
        # Idle connections are dropped well before HAProxy's keep-alive timeout (30 s),
        # so the client never reuses one the balancer is closing.
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=5)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=REQUEST_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(base_url=self.base_url, connector=connector, timeout=timeout) as session:
            self._started.set()
            load = self.load
            tasks = [
                *(asyncio.create_task(self._loop_of(session, self._browse)) for _ in range(load.browse)),
                *(asyncio.create_task(self._loop_of(session, self._checkout)) for _ in range(load.checkout)),
                *(
                    asyncio.create_task(self._loop_of(session, self._ping, until=self._pings_stopping))
                    for _ in range(load.ping)
                ),
            ]
            order_ids = self.data["follow"]["order_ids"]
            for n in range(load.streams):
                stream = _Stream(order_id=order_ids[n % len(order_ids)])
                self.streams.append(stream)
                tasks.append(asyncio.create_task(self._follow(session, stream)))
            await self._stopping.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop_of(self, session, request, *, until: asyncio.Event | None = None) -> None:
        until = until or self._stopping
        while not until.is_set():
            await request(session)
            await asyncio.sleep(self.load.pause)

    async def _timed(self, kind: str, expected: int, call) -> None:
        phase, began = self.current_phase, time.monotonic()
        status, error, served_by = 0, "", ""
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                async with call() as response:
                    await response.read()
                    status, served_by = response.status, response.headers.get("X-Served-By", "")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        ok = status == expected
        if status and not ok:
            error = f"{status} instead of {expected}"
        latency = (time.monotonic() - began) * 1000
        self.records.append(Record(kind, phase, began, latency, status, ok, error, served_by=served_by))

    async def _browse(self, session) -> None:
        await self._timed("browse", 200, lambda: session.get(self.data["browse"], headers=HTTPS))

    async def _checkout(self, session) -> None:
        tokens = self.data["checkout"]["tokens"]
        self._counter += 1
        headers = {
            **HTTPS,
            "Authorization": f"Bearer {tokens[self._counter % len(tokens)]}",
            "Idempotency-Key": uuid.uuid4().hex,
        }
        await self._timed(
            "checkout", 201, lambda: session.post("/api/v1/orders", json=self.data["checkout"]["body"], headers=headers)
        )

    async def _ping(self, session) -> None:
        couriers = self.data["couriers"]
        self._counter += 1
        n = self._counter
        headers = {**HTTPS, "Authorization": f"Bearer {couriers[n % len(couriers)]}"}
        # Each ping a few metres further, so each is published.
        body = {"lat": round(48.8600 - (n % 500) / 100000, 6), "lng": 2.34}
        await self._timed("ping", 202, lambda: session.post("/api/v1/courier/location", json=body, headers=headers))

    # -- streams -----------------------------------------------------------------------

    async def _follow(self, session, stream: _Stream) -> None:
        """Hold the order's stream open; reconnect as EventSource does."""
        token = self.data["follow"]["token"]
        path = f"/api/v1/orders/{stream.order_id}/tracking/stream"
        while not self._stopping.is_set():
            headers = {**HTTPS, "Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
            if stream.received:
                headers["Last-Event-ID"] = stream.received[-1][0]
            phase, began = self.current_phase, time.monotonic()
            retry_ms, status, error = None, 0, ""
            try:
                async with session.get(path, headers=headers, timeout=aiohttp.ClientTimeout(sock_read=60)) as response:
                    status = response.status
                    latency = (time.monotonic() - began) * 1000
                    served_by = response.headers.get("X-Served-By", "")
                    self.records.append(
                        Record("stream", phase, began, latency, status, status == 200, served_by=served_by)
                    )
                    if status != 200:
                        self.records[-1].error = f"{status} instead of 200"
                        await asyncio.sleep(1)
                        continue
                    stream.connections += 1
                    retry_ms = await self._read_events(response, stream)
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            if self._stopping.is_set():
                return
            if status == 0:
                self.records.append(Record("stream", phase, began, (time.monotonic() - began) * 1000, 0, False, error))
                await asyncio.sleep(1)
            elif retry_ms is None:
                # Ended without a retry hint (or cut): the client would show an error.
                self.stream_failures.append(f"{phase}: stream of {stream.order_id} ended without retry hint {error}")
                self.records.append(Record("stream-end", phase, time.monotonic(), 0, 0, False, "ended without retry"))
                await asyncio.sleep(1)
            else:
                await asyncio.sleep(retry_ms / 1000)

    async def _read_events(self, response, stream: _Stream) -> int | None:
        """Events until the server ends the stream; the ``retry:`` hint it gave, if any."""
        retry_ms = None
        block: list[str] = []
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if line:
                block.append(line)
                continue
            fields = {}
            for field_line in block:
                name, _, value = field_line.partition(":")
                fields[name] = value.removeprefix(" ")
            if fields.get("id"):
                stream.received.append((fields["id"], fields.get("event", "message")))
            if fields.get("retry", "").isdigit():
                retry_ms = int(fields["retry"])
            block = []
        return retry_ms

    def streams_summary(self) -> dict:
        """Per the channels' logs in Redis: events each stream should have seen (every
        one after its first), and how many it missed or got twice."""
        client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        try:
            expected = lost = duplicated = 0
            for stream in self.streams:
                if not stream.received:
                    continue
                first = _order(stream.received[0][0])
                logged = [
                    entry_id.decode()
                    for entry_id, _ in client.xrange(f"ff:channel:{stream.order_id}")
                    if _order(entry_id.decode()) >= first
                ]
                seen_ids = {event_id for event_id, _ in stream.received}
                expected += len(logged)
                lost += sum(1 for event_id in logged if event_id not in seen_ids)
                duplicated += len(stream.received) - len(set(stream.received))
        finally:
            client.close()
        return {
            "streams": len(self.streams),
            "connections": sum(s.connections for s in self.streams),
            "reconnections": sum(max(0, s.connections - 1) for s in self.streams),
            "events_expected": expected,
            "events_received": sum(len(s.received) for s in self.streams),
            "events_lost": lost,
            "events_duplicated": duplicated,
            "ended_without_retry": len(self.stream_failures),
        }


def _order(event_id: str) -> tuple[int, ...]:
    """Channel event ids (``<ms>-<seq>``) in their order."""
    return tuple(int(part) for part in event_id.split("-"))
