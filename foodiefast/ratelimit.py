"""Fixed-window counters in the cache (Redis in production), for failure throttles.

Each window stores its count and its end; the end is checked against the clock, so a
window is over when it says so even if the cache has not evicted it yet. With the
cache down the counters read as empty: throttles fail open rather than lock everybody
out.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.core.cache import cache


def key_for(scope: str, value: str) -> str:
    """A cache key that does not store the raw value (an email, an address)."""
    return f"rl:{scope}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def _window_end(key: str) -> float | None:
    end = cache.get(f"{key}:end")
    return end if end is not None and end > time.time() else None


def hit(key: str, *, window_seconds: int) -> int:
    """Count one event in the current window of ``key``; returns the count so far."""
    if _window_end(key) is None:
        cache.set_many({key: 0, f"{key}:end": time.time() + window_seconds}, timeout=window_seconds)
    try:
        return cache.incr(key) or 0
    except ValueError:  # evicted between the two calls: this event opens a new window
        cache.set_many({key: 1, f"{key}:end": time.time() + window_seconds}, timeout=window_seconds)
        return 1


def retry_after(key: str, *, limit: int) -> int | None:
    """Seconds until the window of ``key`` ends if it has reached ``limit``, else None."""
    end = _window_end(key)
    if end is None or (cache.get(key) or 0) < limit:
        return None
    return max(1, math.ceil(end - time.time()))
