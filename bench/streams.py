"""Tracking streams in ``make bench`` (run by bench/run.py after the wrk scenarios).

wrk cannot hold streams open, so the bench opens them with its own asyncio client
(:func:`hold`, run as a separate process with ``python -m bench.streams``: one event
loop, raw sockets, HTTP/1.1 with chunked bodies, SSE blocks parsed as they come).

``idle_streams``: the web process as the Procfile runs it (``WEB_CONCURRENCY`` 2).
Cached browse (``dishes_cached``, wrk at 32 connections, after a warm-up run) is
measured with no stream open, then while :data:`IDLE_STREAMS` streams, one per order
of one customer, are open and idle (heartbeats only), then again once they are
closed, in the same run; the best of the runs with streams is compared with the best
of the runs without (before and after);
the web processes' resident memory (all of gunicorn's processes, from /proc) before
and after opening them gives the memory per idle stream.

``stream_fanout``: two web processes (each the Procfile's line with one worker), each
holding half of :data:`FANOUT_SUBSCRIBERS` streams of one order. The bench publishes
:data:`FANOUT_PUBLISHES` location events into the order's channel
(``channel_publish``, as the courier API does), one every 200 ms, each carrying the
time it was sent; the client notes when each stream receives each one. Latency is
receive time minus send time over every (event, stream) pair: p50, p95, p99. The
client runs on the same two cores and is part of what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

IDLE_STREAMS = 5000
FANOUT_SUBSCRIBERS = 1000
FANOUT_PUBLISHES = 30
FOLLOWER_EMAIL = "bench-follower@foodiefast.bench"
OPEN_CONCURRENCY = 100


def raise_open_files_limit() -> int:
    """Each stream is a socket on both ends: as many descriptors as the hard limit allows
    (children, the web processes and the client, inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# ---------------------------------------------------------------------------
# Data (bench database, in the bench process)
# ---------------------------------------------------------------------------


def stream_orders(count: int) -> dict:
    """``count`` open orders of one customer, and that customer's access token."""
    import factory
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.accounts.models import User
    from apps.menus.models import Dish
    from apps.orders.models import Order
    from bench.scenarios import _checkout_menu
    from tests.factories.orders import OrderFactory

    dish = Dish.objects.get(pk=_checkout_menu()["dish_id"])
    customer, _ = User.objects.get_or_create(email=FOLLOWER_EMAIL, defaults={"full_name": "Bench Follower"})
    have = Order.objects.filter(customer=customer).count()
    for start in range(have, count, 1000):
        OrderFactory.create_bulk(
            min(1000, count - start),
            dish=dish,
            customer=customer,
            idempotency_key=factory.Sequence(lambda n: f"bench-follow-{n}"),
        )
    ids = Order.objects.filter(customer=customer).order_by("created_at").values_list("pk", flat=True)
    return {"token": str(AccessToken.for_user(customer)), "order_ids": [str(pk) for pk in ids[:count]]}


# ---------------------------------------------------------------------------
# The client (its own process)
# ---------------------------------------------------------------------------


class _Stream:
    def __init__(self) -> None:
        self.opened = asyncio.get_running_loop().create_future()
        self.received: list[tuple[float, str]] = []  # (receive time, data) of location events


async def _follow_one(base: str, path: str, token: str, stream: _Stream) -> None:
    parts = urlsplit(base)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port, limit=1 << 20)
    writer.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: text/event-stream\r\nX-Forwarded-Proto: https\r\n\r\n"
        ).encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        stream.opened.set_result(False)
        writer.close()
        return
    buffer = b""
    try:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            if size == 0:
                return
            buffer += (await reader.readexactly(size + 2))[:-2]
            now = time.time()
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                if not stream.opened.done():
                    stream.opened.set_result(True)
                if b"event: location" in block:
                    stream.received.append((now, block.rsplit(b"data: ", 1)[1].decode()))
    except (asyncio.IncompleteReadError, ConnectionError):
        return
    finally:
        if not stream.opened.done():
            stream.opened.set_result(False)
        writer.close()


async def hold(bases: list[str], token: str, order_ids: list[str], *, seconds: float) -> dict:
    """Open a stream per order id (spread over ``bases`` in turn), report when all are
    open (a line ``open <n> <seconds>`` on stdout), hold them ``seconds`` or until
    stdin closes, then answer what they received."""
    streams = [_Stream() for _ in order_ids]
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)
    tasks = []
    began = time.monotonic()

    async def open_one(n: int, order_id: str) -> bool:
        async with gate:
            path = f"/api/v1/orders/{order_id}/tracking/stream"
            tasks.append(asyncio.create_task(_follow_one(bases[n % len(bases)], path, token, streams[n])))
            try:
                return await asyncio.wait_for(asyncio.shield(streams[n].opened), timeout=60)
            except (TimeoutError, OSError):
                return False

    opened = await asyncio.gather(*(open_one(n, order_id) for n, order_id in enumerate(order_ids)))
    print(f"open {sum(opened)} {time.monotonic() - began:.1f} failed {len(opened) - sum(opened)}", flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    await asyncio.wait([stdin_closed], timeout=seconds)
    alive = sum(1 for task in tasks if not task.done())
    for task in tasks:
        task.cancel()
    return {"streams": len(streams), "alive": alive, "received": [s.received for s in streams]}


def client_main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bases", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--orders", required=True, help="a file of order ids, one a line")
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    raise_open_files_limit()
    import uvloop

    order_ids = Path(args.orders).read_text().split()
    answer = uvloop.run(hold(args.bases.split(","), args.token, order_ids, seconds=args.seconds))
    Path(args.out).write_text(json.dumps(answer))


class Client:
    """The client process, started and stopped by the bench."""

    def __init__(self, bases: list[str], token: str, order_ids: list[str], workdir: Path) -> None:
        self.out = workdir / "streams-out.json"
        orders = workdir / "streams-orders.txt"
        orders.write_text("\n".join(order_ids))
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "bench.streams", "--bases", ",".join(bases), "--token", token),
                *("--orders", str(orders), "--out", str(self.out)),
            ],
            cwd=Path(__file__).resolve().parent.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def wait_open(self) -> tuple[int, float, int]:
        """(streams open, seconds it took, streams that failed to open)."""
        line = self.process.stdout.readline()
        if not line.startswith("open "):
            self.process.kill()
            sys.exit(f"the stream client did not open its streams ({line!r})")
        _, opened, seconds, _, failed = line.split()
        return int(opened), float(seconds), int(failed)

    def finish(self) -> dict:
        self.process.stdin.close()
        self.process.wait(timeout=120)
        return json.loads(self.out.read_text())


# ---------------------------------------------------------------------------
# The two measurements (bench process)
# ---------------------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def resident_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants, in KiB."""
    total = 0
    for each in _descendants(pid):
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else 0.0


def idle_streams(*, wrk: str, env: dict, browse, repeat: int, duration: int, workdir: Path) -> list[dict]:
    """Cached browse with no stream, then with :data:`IDLE_STREAMS` open; rows for the report."""
    from bench.run import drive, start_web

    data = stream_orders(IDLE_STREAMS)
    web, base, _ = start_web(env, "procfile", label="idle-streams")
    try:
        drive(wrk, base, browse, 32, duration)  # warm-up: stored answers, connections, code paths

        def browse_point() -> list[dict]:
            return [drive(wrk, base, browse, 32, duration) for _ in range(repeat)]

        without = browse_point()
        time.sleep(1)
        memory_before = resident_kb(web.pid)
        client = Client([base], data["token"], data["order_ids"], workdir)
        opened, opened_in, failed = client.wait_open()
        time.sleep(2)
        memory_after = resident_kb(web.pid)
        with_streams = browse_point()
        held = client.finish()
        time.sleep(2)
        without += browse_point()  # again once they are closed: the machine's drift, both ways
    finally:
        os.killpg(web.pid, 15)
        web.wait(timeout=30)
    best_without = max(without, key=lambda r: r["rps"])
    best_with = max(with_streams, key=lambda r: r["rps"])
    per_stream_kb = (memory_after - memory_before) / max(1, opened)
    rows = []
    for name, best, runs in (
        ("dishes_cached, no stream", best_without, without),
        (f"dishes_cached, {IDLE_STREAMS} streams", best_with, with_streams),
    ):
        rows.append(
            {
                **best,
                "server": "procfile",
                "scenario": name,
                "connections": 32,
                "runs": [r["rps"] for r in runs],
                "runs_p50_ms": [r["p50_ms"] for r in runs],
                "runs_p99_ms": [r["p99_ms"] for r in runs],
            }
        )
    rows[1].update(
        references=[
            {
                "reference": rows[0]["scenario"],
                "ratio": best_with["rps"] / best_without["rps"] if best_without["rps"] else 0.0,
                # Each run with streams against the best run without.
                "runs": [w / best_without["rps"] for w in rows[1]["runs"] if best_without["rps"]],
            }
        ],
        streams_open=opened,
        streams_failed_to_open=failed,
        streams_alive_at_end=held["alive"],
        streams_opened_in_s=opened_in,
        memory_before_kb=memory_before,
        memory_after_kb=memory_after,
        memory_per_stream_kb=round(per_stream_kb, 1),
    )
    return rows


def stream_fanout(*, env: dict, workdir: Path) -> dict:
    """One publish reaching :data:`FANOUT_SUBSCRIBERS` streams over two web processes."""
    from django.conf import settings

    from apps.tracking.channel import channel_publish
    from bench.run import start_web

    data = stream_orders(1)
    order_id = data["order_ids"][0]
    one_worker = {**env, "WEB_CONCURRENCY": "1"}
    webs = [start_web(one_worker, "procfile", label=f"fanout-{n}") for n in range(2)]
    try:
        client = Client([base for _, base, _ in webs], data["token"], [order_id] * FANOUT_SUBSCRIBERS, workdir)
        opened, _, failed = client.wait_open()
        time.sleep(1)
        settings.REDIS_URL = env["REDIS_URL"]
        for n in range(FANOUT_PUBLISHES):
            channel_publish(
                reference=order_id,
                kind="location",
                data={"lat": 48.86, "lng": 2.34, "n": n, "sent": time.time()},
            )
            time.sleep(0.2)
        time.sleep(1)
        held = client.finish()
    finally:
        for web, _, _ in webs:
            os.killpg(web.pid, 15)
            web.wait(timeout=30)
    latencies = [
        (received - json.loads(payload)["sent"]) * 1000 for stream in held["received"] for received, payload in stream
    ]
    expected = FANOUT_SUBSCRIBERS * FANOUT_PUBLISHES
    return {
        "server": "procfile x2",
        "scenario": f"stream_fanout, 1 publish -> {FANOUT_SUBSCRIBERS} streams",
        "connections": FANOUT_SUBSCRIBERS,
        "rps": 0.0,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "requests": len(latencies),
        "errors": expected - len(latencies),
        "publishes": FANOUT_PUBLISHES,
        "streams_open": opened,
        "streams_failed_to_open": failed,
    }


if __name__ == "__main__":
    client_main()
