"""Feature flags rolled out to a share of users, stable per user.

Staff set a flag's share in the admin (:class:`foodiefast.models.FeatureFlag`);
services ask :func:`flag_enabled`; the apps read :func:`flags_for` at
``GET /api/v1/features``. A flag at N % is on for a user exactly when
``crc32("<flag name>:<user id>") % 100 < N``: the same answer in every process and on
every request, other flags' groups independent of it, and raising N only adds users.
An anonymous caller has a flag only at 100 %; an unknown flag is off.

The table is small and read on hot paths: each process keeps it for
``FEATURE_FLAGS_PROCESS_SECONDS``, behind a copy in the shared cache that a save or
delete in the admin removes (after commit), so a change reaches every process within
that many seconds without a query per request.
"""

from __future__ import annotations

import time
import zlib

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from foodiefast.models import FeatureFlag

CACHE_KEY = "feature-flags:v1"
CACHE_SECONDS = 24 * 60 * 60  # invalidated on save; this only bounds a lost invalidation


class _Held:
    """The process's copy of the table and when it was read (monotonic seconds)."""

    table: dict[str, int] | None = None
    read_at = 0.0


_held = _Held()


def in_rollout(name: str, user_id: object, percent: int) -> bool:
    """The rollout rule: the user's bucket of this flag (0-99) is below ``percent``."""
    return zlib.crc32(f"{name}:{user_id}".encode()) % 100 < percent


def flag_table() -> dict[str, int]:
    """Every flag's rollout percentage by name (the process's copy, else the cache's,
    else the database's)."""
    now = time.monotonic()
    table = _held.table
    if table is not None and now - _held.read_at < settings.FEATURE_FLAGS_PROCESS_SECONDS:
        return table
    table = cache.get(CACHE_KEY)
    if table is None:
        table = dict(FeatureFlag.objects.values_list("name", "percent"))
        cache.set(CACHE_KEY, table, CACHE_SECONDS)
    _held.table, _held.read_at = table, now
    return table


def flag_enabled(name: str, user=None) -> bool:
    """Whether ``name`` is on for ``user`` (None or anonymous: only at 100 %)."""
    percent = flag_table().get(name, 0)
    if percent >= 100:
        return True
    if percent <= 0 or user is None or not getattr(user, "is_authenticated", False):
        return False
    return in_rollout(name, user.pk, percent)


def flags_for(user=None) -> dict[str, bool]:
    """Every flag as it applies to ``user``."""
    return {name: flag_enabled(name, user) for name in sorted(flag_table())}


def flags_forget() -> None:
    """Drop the process's copy and the shared one: the next read loads the table."""
    _held.table = None
    cache.delete(CACHE_KEY)


@receiver(post_save, sender=FeatureFlag, dispatch_uid="feature-flags-saved")
@receiver(post_delete, sender=FeatureFlag, dispatch_uid="feature-flags-deleted")
def _table_changed(**kwargs) -> None:
    transaction.on_commit(flags_forget)
