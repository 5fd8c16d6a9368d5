"""Prometheus figures of the whole web tier, whichever process answers the scrape.

The web process is gunicorn with several workers: each worker writes its figures to
files in a directory made when the server starts (``gunicorn.conf.py`` sets
``PROMETHEUS_MULTIPROC_DIR`` before the workers start; prometheus_client's
multiprocess mode), and the worker that answers ``GET /metrics`` sums them all.
Without that variable (``manage.py runserver``, tests in one process) the figures are
the process's own.

Measured at the ASGI entry (``foodiefast/asgi.py``), so requests answered before
Django (health probes, stored browse answers) count too:

- ``foodiefast_http_requests_total{route, method, status, release}``: the route is the
  URL pattern (``/api/v1/orders/<uuid:order_id>``), never the raw path, so the number
  of series stays bounded; ``unmatched`` for a path no route knows.
- ``foodiefast_http_request_duration_seconds{route, method, release}``: a histogram
  (event streams are counted, not timed: they last as long as the client stays).
- ``foodiefast_open_streams{release}``: event streams open now (:func:`stream_open`).

``release`` is ``RELEASE_VERSION`` (or the commit), so a canary and the stable
release scraped into one Prometheus are told apart. Requests are counted in process
memory and written to the shared files every ``FLUSH_SECONDS`` (:class:`_Pending`):
the figures are at most half a second behind. Figures that live in the broker
or the database are read when scraped (:func:`scrape_time_families`): Celery queue
depth here, the apps' own through ``METRICS_COLLECTORS``, each bounded in time and
reported by ``foodiefast_metrics_collector_up`` (0 when it failed).
"""

from __future__ import annotations

import asyncio
import atexit
import hmac
import json
import logging
import os
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache

import redis
from django.conf import settings
from django.db import connections
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger("foodiefast.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Route label of a request no URL pattern matches (bounded: never the raw path).
UNMATCHED = "unmatched"
# The scope key through which whoever answers names the route (Django's middleware,
# an edge handler, the stream routes).
ROUTE_KEY = "foodiefast.route"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds, each bound at most 1.67 times the one before up to 10 s: a p99 twice
# another's always lies across at least one bound, so a canary's p99 against the
# stable release's reads true from the histograms. 2.5 s is the database deadline,
# 30 s gunicorn's timeout.
LATENCY_BUCKETS = (
    0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.15,
    0.25, 0.4, 0.6, 1.0, 1.5, 2.5, 4.0, 6.0, 10.0, 30.0,
)  # fmt: skip
# Connect and read timeout of each Redis call made while scraping.
SCRAPE_REDIS_SECONDS = 0.5

# No "<name>_created" series beside each counter and histogram (as in multiprocess mode).
disable_created_metrics()

REQUESTS = Counter(
    "foodiefast_http_requests",
    "HTTP requests answered, by route pattern, method and status.",
    ["route", "method", "status", "release"],
)
LATENCY = Histogram(
    "foodiefast_http_request_duration_seconds",
    "Time from the request reaching the web process to the end of its answer.",
    ["route", "method", "release"],
    buckets=LATENCY_BUCKETS,
)
OPEN_STREAMS = Gauge(
    "foodiefast_open_streams",
    "Event streams open now.",
    ["release"],
    multiprocess_mode="livesum",
)


@cache
def release() -> str:
    from foodiefast.health import release_version

    return release_version()


# Seconds a request's count may wait in process memory before it is written to the
# figures a scrape reads. Writing them (multiprocess mode: a locked write to a memory-
# mapped file per value) costs about 13 us a request; adding in memory under one
# uncontended lock, about 1 us.
FLUSH_SECONDS = 0.5
_BOUNDS = (*LATENCY_BUCKETS, float("inf"))


class _Pending:
    """Requests counted since the last flush, by (route, method, status): count, sum
    of durations, count per latency bucket. A thread of each process flushes them
    every ``FLUSH_SECONDS``; a scrape flushes its own process's first, and so does
    the process's exit."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[tuple[str, str, int], list] = {}
        self.flushing = False

    def add(self, key: tuple[str, str, int], seconds: float | None) -> None:
        with self.lock:
            entry = self.counts.get(key)
            if entry is None:
                entry = self.counts[key] = [0, 0.0, [0] * len(_BOUNDS)]
            entry[0] += 1
            if seconds is not None:
                entry[1] += seconds
                entry[2][bisect_left(_BOUNDS, seconds)] += 1
        if not self.flushing:
            self.flushing = True
            threading.Thread(target=self._flush_forever, name="metrics-flush", daemon=True).start()

    def _flush_forever(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            try:
                self.flush()
            except Exception:  # a failed write must not stop the counting for good
                logger.exception("metrics: counts not written")

    def flush(self) -> None:
        with self.lock:
            counts, self.counts = self.counts, {}
        for (route, method, status), (count, seconds, buckets) in counts.items():
            label_method = method if method in METHODS else "other"
            REQUESTS.labels(route, label_method, str(status), release()).inc(count)
            if any(buckets):
                histogram = LATENCY.labels(route, label_method, release())
                # Histogram.observe() one by one, in one go: the same values it writes.
                histogram._sum.inc(seconds)
                for index, bucket_count in enumerate(buckets):
                    if bucket_count:
                        histogram._buckets[index].inc(bucket_count)

    def forked(self) -> None:
        """In a new child: no thread runs there yet; the parent's counts are its own."""
        self.lock = threading.Lock()
        self.counts = {}
        self.flushing = False


_pending = _Pending()
os.register_at_fork(after_in_child=_pending.forked)
atexit.register(_pending.flush)


def request_observed(route: str, method: str, status: int, seconds: float | None) -> None:
    """Count one answered request (and time it unless ``seconds`` is None)."""
    _pending.add((route, method, status), seconds)


def flush() -> None:
    """Write this process's counted requests to the figures now."""
    _pending.flush()


@contextmanager
def stream_open() -> Iterator[None]:
    """Counts an event stream as open while the block runs. The entry already does
    this for ``ASGI_STREAM_ROUTES``; a stream served another way uses it itself."""
    gauge = OPEN_STREAMS.labels(release())
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def route_of(request) -> str:
    """The URL pattern of a Django request, as the route label (resolved here when a
    middleware answered before URL resolution)."""
    match = request.resolver_match
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return UNMATCHED
    return "/" + match.route


def name_route(request) -> None:
    """Tell the ASGI entry which route Django answered (through the ASGI scope that
    a2wsgi hands Django in ``environ``)."""
    scope = request.environ.get("asgi.scope")
    if scope is not None:
        scope[ROUTE_KEY] = route_of(request)


# ---------------------------------------------------------------------------
# Figures read when scraped
# ---------------------------------------------------------------------------


def bounded_redis(url: str) -> redis.Redis:
    """A fresh client with short timeouts and no retry: a frozen Redis costs a scrape
    (or a probe) half a second, never a hang."""
    return redis.Redis.from_url(
        url, socket_timeout=SCRAPE_REDIS_SECONDS, socket_connect_timeout=SCRAPE_REDIS_SECONDS, retry=None
    )


def celery_queues() -> list[str]:
    """Every queue a task may be routed to (``CELERY_TASK_ROUTES`` and the default)."""
    names = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    names.add(settings.CELERY_TASK_DEFAULT_QUEUE)
    return sorted(names)


# The Redis transport keeps a task sent with a priority in a list of its own per
# priority step (kombu's default steps; "<queue>\x06\x16<step>"); step 0 is the queue's name.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def queue_depth_families() -> list[Metric]:
    family = GaugeMetricFamily(
        "foodiefast_celery_queue_depth", "Tasks waiting in each Celery queue (the broker's lists).", labels=["queue"]
    )
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return [family]  # tasks run in-process or in memory: nothing waits
    queues = celery_queues()
    client = bounded_redis(url)
    try:
        pipe = client.pipeline(transaction=False)
        for queue in queues:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(queue + suffix)
        lengths = pipe.execute()
    finally:
        client.close()
    step = len(_PRIORITY_SUFFIXES)
    for index, queue in enumerate(queues):
        family.add_metric([queue], sum(lengths[index * step : (index + 1) * step]))
    return [family]


def collectors() -> list[tuple[str, Callable[[], Iterable[Metric]]]]:
    """(name, function) of every scrape-time reading: the queues, then the apps'."""
    found = [("celery_queues", queue_depth_families)]
    found += [(path.rsplit(".", 1)[-1], import_string(path)) for path in settings.METRICS_COLLECTORS]
    return found


def scrape_time_families() -> list[Metric]:
    """Every scrape-time figure; a reading that fails (its backing service down or
    past its deadline) is left out and marked down, the others are still served."""
    up = GaugeMetricFamily(
        "foodiefast_metrics_collector_up", "1 when the scrape-time reading succeeded.", labels=["collector"]
    )
    families: list[Metric] = []
    for name, collect in collectors():
        try:
            families.extend(collect())
            up.add_metric([name], 1)
        except Exception as exc:  # a reading that fails must not fail the scrape
            logger.warning("metrics: reading failed", extra={"collector": name, "error": exc.__class__.__name__})
            up.add_metric([name], 0)
    families.append(up)
    info = GaugeMetricFamily("foodiefast_release_info", "The release this process runs.", labels=["release"])
    info.add_metric([release()], 1)
    families.append(info)
    return families


class _Families:
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> list[Metric]:
        return self._families


def exposition() -> bytes:
    """The text a scrape reads: the web tier's request figures, then the scrape-time ones."""
    flush()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    read_now = CollectorRegistry()
    read_now.register(_Families(scrape_time_families()))
    return generate_latest(registry) + generate_latest(read_now)


def scrape_allowed(authorization: bytes | None) -> int | None:
    """None when the caller may read the figures, else the status to answer: 404
    without ``METRICS_TOKEN`` (outside debug), 401 without its bearer token."""
    token = settings.METRICS_TOKEN
    if not token:
        return None if settings.DEBUG else 404
    expected = b"Bearer " + token.encode()
    if authorization is None or not hmac.compare_digest(authorization, expected):
        return 401
    return None


# One scrape at a time per process, on a thread of its own: a scrape waiting on the
# database never holds a web thread, and concurrent scrapers wait their turn.
_scrape_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metrics")


def _scrape() -> bytes:
    try:
        return exposition()
    finally:
        connections.close_all()  # this thread's: a scrape holds no connection between runs


async def serve_metrics(scope, receive, send) -> bool:
    """The ASGI entry's answer to ``GET /metrics`` (an edge handler: no Django host
    check or HTTPS redirect stands between a scraper and the figures). Without a
    token outside debug, Django answers its 404."""
    if scope["path"] != "/metrics" or scope["method"] != "GET":
        return False
    refused = scrape_allowed(dict(scope["headers"]).get(b"authorization"))
    if refused == 404:
        return False
    scope[ROUTE_KEY] = "/metrics"
    if refused == 401:
        body = json.dumps({"code": "not_authenticated", "detail": str(_("A valid metrics token is required."))})
        headers = [(b"content-type", b"application/json"), (b"www-authenticate", b'Bearer realm="metrics"')]
        await _answer(send, 401, headers, body.encode())
        return True
    body = await asyncio.get_running_loop().run_in_executor(_scrape_pool, _scrape)
    await _answer(send, 200, [(b"content-type", CONTENT_TYPE.encode())], body)
    return True


async def _answer(send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
