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


def versioned_get_any(namespace: str, *keys: str) -> tuple[int, list[tuple[int, object] | None]]:
    """The current version of ``namespace`` and, for each key, ``(version it was
    stored under, value)`` or None, in one round trip: for a reader that may serve an
    outdated entry while one request rebuilds it."""
    vkey = version_key(namespace)
    found = cache.get_many([vkey, *keys])
    version = found.get(vkey)
    if version is None:
        cache.add(vkey, 1, timeout=None)
        version = 1
    entries = []
    for key in keys:
        entry = found.get(key)
        entries.append(entry if isinstance(entry, tuple) and len(entry) == 2 else None)
    return int(version), entries


def versioned_get(namespace: str, *keys: str) -> tuple[int, list]:
    """The current version of ``namespace`` and, for each key, the value stored with
    :func:`versioned_set` under that same version (else None), in one round trip.

    The version is read before the caller reads the database, so an answer built
    from rows older than a bump is always stored under an outdated version."""
    version, entries = versioned_get_any(namespace, *keys)
    return version, [entry[1] if entry is not None and entry[0] == version else None for entry in entries]


def versioned_set(keys: list[str], version: int, value, *, timeout: int) -> None:
    """Store ``value`` under each key, valid while ``namespace`` stays at ``version``."""
    cache.set_many(dict.fromkeys(keys, (version, value)), timeout=timeout)


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
