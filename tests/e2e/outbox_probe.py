"""Probe tasks and a probe event for the broker fault tests: imported by the test and,
with ``--include``, by the worker it starts. Both record what ran in the worker's Redis."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import redis
from celery import shared_task

from foodiefast.events import Event, subscribe

STARTS = "probe:starts"


def _redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2)


@shared_task
def record_start_task(label: str) -> None:
    """Note that a task labelled ``label`` started, then work for a moment."""
    _redis().rpush(STARTS, label)
    time.sleep(0.2)


@dataclass(frozen=True)
class ProbeHappened(Event):
    key: str


def count_probe(event: ProbeHappened) -> None:
    """An effect outside the database (so no rollback hides a second run), slow
    enough that a duplicate delivery arrives while it runs."""
    _redis().incr(f"probe:effect:{event.key}")
    time.sleep(1)


subscribe(ProbeHappened, count_probe)
