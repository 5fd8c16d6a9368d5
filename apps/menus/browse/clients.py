"""The Redis clients of browsing, with connect and read timeouts and no retries.

Browsing treats Redis as a cache: an entry that does not arrive within
:data:`~.rules.REDIS_TIMEOUT_SECONDS` is a miss (the view reads PostgreSQL, the ASGI
entry passes to Django), so a frozen Redis (SIGSTOP: connections accepted, nothing
answered) costs a request at most that long per call, never a hung worker. Retries
are off: redis-py retries a timed-out call three times by default, which would
multiply the wait.

After a call fails, the clients of that Redis are withheld for
:data:`BREAKER_SECONDS` (a miss at once, no wait), then tried again: while Redis
stays unreachable a request pays the timeout about once a second per process, not
once per call.

One synchronous client per Redis URL (its pool is thread-safe, shared by the WSGI
threads) and one asynchronous client per event loop and URL (the ASGI entry).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from apps.menus.browse.rules import REDIS_TIMEOUT_SECONDS

logger = logging.getLogger("foodiefast.cache")

BREAKER_SECONDS = 1.0
# What a Redis call may raise when Redis is down, frozen or refusing: a miss.
UNAVAILABLE = (redis.RedisError, OSError, TimeoutError)

_sync: dict[str, redis.Redis] = {}
_sync_lock = threading.Lock()
_down_until: dict[str, float] = {}
_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, aioredis.Redis]] = weakref.WeakKeyDictionary()


def options() -> dict:
    """Connect and read timeouts for both kinds of client (each is given no retry)."""
    return {
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_timeout": REDIS_TIMEOUT_SECONDS,
        "health_check_interval": 0,
    }


def _url() -> str | None:
    """The cache's Redis; None without Redis (debug, the embedded mode), and while
    the breaker holds after a failure."""
    if not settings.REDIS_URL:
        return None
    url = settings.CACHES["default"]["LOCATION"]
    return None if time.monotonic() < _down_until.get(url, 0.0) else url


def unavailable(exc: BaseException, *, what: str) -> None:
    """A call failed (``exc`` one of :data:`UNAVAILABLE`): log it, and withhold the
    clients of that Redis for :data:`BREAKER_SECONDS`."""
    if settings.REDIS_URL:
        _down_until[settings.CACHES["default"]["LOCATION"]] = time.monotonic() + BREAKER_SECONDS
    logger.warning("%s: redis unavailable", what, extra={"error": exc.__class__.__name__})


def sync_client() -> redis.Redis | None:
    url = _url()
    if url is None:
        return None
    client = _sync.get(url)
    if client is None:
        with _sync_lock:
            client = _sync.get(url) or redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), **options())
            _sync[url] = client
    return client


def async_client() -> aioredis.Redis | None:
    url = _url()
    if url is None:
        return None
    per_loop = _async.setdefault(asyncio.get_running_loop(), {})
    client = per_loop.get(url)
    if client is None:
        client = per_loop[url] = aioredis.Redis.from_url(url, retry=AsyncRetry(NoBackoff(), 0), **options())
    return client
