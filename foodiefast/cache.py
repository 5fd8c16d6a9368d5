"""Versioned cache namespaces: invalidate a family of cached answers by bumping one
counter instead of finding and deleting keys (never a flush of the whole cache).

A reader puts :func:`namespace_version` into its keys; a writer calls
:func:`namespace_bump` and every key built with the old version is simply never read
again (it expires with its TTL). The bump happens after the surrounding transaction
commits, so a reader cannot cache the old rows under the new version.
"""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction


def version_key(namespace: str) -> str:
    """The cache key (before the cache's own prefix) holding ``namespace``'s version."""
    return f"nsv:{namespace}"


def namespace_version(namespace: str) -> int:
    """The current version of ``namespace`` (1 until the first bump)."""
    value = cache.get(version_key(namespace))
    if value is None:
        cache.add(version_key(namespace), 1, timeout=None)
        return 1
    return int(value)


def _bump_now(namespace: str) -> None:
    key = version_key(namespace)
    cache.add(key, 1, timeout=None)
    try:
        cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 2, timeout=None)


def namespace_bump(namespace: str) -> None:
    """Invalidate every answer cached under ``namespace``, once the transaction commits
    (at once outside one)."""
    transaction.on_commit(lambda: _bump_now(namespace))
