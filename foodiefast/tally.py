"""Counters shared by every process (web and worker), kept in Redis, read when
``/metrics`` is scraped: for what happens in a worker, which serves no scrape.

``tally_add("payment_failures", "card_declined")`` adds one after the surrounding
transaction commits (a rolled-back change counts nothing). A Redis hash per counter,
one field per label value; a Redis outage loses the additions meanwhile (logged),
never the caller's work. Without Redis (debug) the counters are the process's own.
"""

from __future__ import annotations

import logging
from collections import Counter

import redis
from django.conf import settings
from django.db import transaction
from django_redis import get_redis_connection

logger = logging.getLogger("foodiefast.tally")

_local: dict[str, Counter[str]] = {}


def _key(name: str) -> str:
    return f"ff:tally:{name}"


def _add_now(name: str, label: str) -> None:
    if not settings.REDIS_URL:
        _local.setdefault(name, Counter())[label] += 1
        return
    try:
        get_redis_connection("default").hincrby(_key(name), label, 1)
    except (redis.RedisError, OSError) as exc:
        logger.warning("tally: not counted", extra={"tally": name, "error": exc.__class__.__name__})


def tally_add(name: str, label: str) -> None:
    """Count one ``name`` event of kind ``label`` once the transaction commits."""
    transaction.on_commit(lambda: _add_now(name, label))


def tally_read(name: str) -> dict[str, int]:
    """Every kind's count of ``name`` (raises when Redis cannot be read)."""
    if not settings.REDIS_URL:
        return dict(_local.get(name, {}))
    raw = get_redis_connection("default").hgetall(_key(name))
    return {field.decode(): int(value) for field, value in raw.items()}
