"""Fixed-window counters in the cache (Redis in production), for failure throttles.

With the cache down the counters read as empty: throttles fail open rather than lock
everybody out.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.core.cache import cache


def key_for(scope: str, value: str) -> str:
    """A cache key that does not store the raw value (an email, an address)."""
    return f"rl:{scope}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def hit(key: str, *, window_seconds: int) -> int:
    """Count one event in the current window of ``key``; returns the count so far."""
    if cache.add(key, 0, timeout=window_seconds):
        cache.set(f"{key}:reset", time.time() + window_seconds, timeout=window_seconds)
    try:
        return cache.incr(key) or 0
    except ValueError:  # the window expired between add and incr
        cache.set(key, 1, timeout=window_seconds)
        cache.set(f"{key}:reset", time.time() + window_seconds, timeout=window_seconds)
        return 1


def retry_after(key: str, *, limit: int) -> int | None:
    """Seconds until the window of ``key`` ends if it has reached ``limit``, else None."""
    values = cache.get_many([key, f"{key}:reset"])
    count = values.get(key) or 0
    if count < limit:
        return None
    reset_at = values.get(f"{key}:reset") or time.time() + 1
    return max(1, math.ceil(reset_at - time.time()))
