"""The web process's shared subscription, in this process: with the run's Redis and,
in the embedded mode, without Redis."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest

from apps.tracking import live
from apps.tracking.channel import channel_publish


async def _follow_and_publish(reference: str):
    hub = live.hub()
    first, second = await hub.subscribe(reference), await hub.subscribe(reference)
    other = await hub.subscribe(str(uuid.uuid4()))
    # Published from another thread, as a WSGI thread of the web process does.
    publisher = threading.Thread(
        target=channel_publish, kwargs={"reference": reference, "kind": "location", "data": {"lat": 1.5}}
    )
    publisher.start()
    got = [await first.get(5), await second.get(5), await other.get(0.3)]
    publisher.join()
    for subscription in (first, second, other):
        await hub.unsubscribe(subscription)
    return got, hub


@pytest.mark.parametrize("with_redis", [True, False], ids=["redis", "embedded"])
def test_every_stream_of_an_order_gets_its_events_and_no_other(with_redis, settings):
    if not with_redis:
        settings.REDIS_URL = ""
    reference = str(uuid.uuid4())

    (first, second, other), hub = asyncio.run(_follow_and_publish(reference))

    assert first.data == second.data == {"lat": 1.5}
    assert first.id == second.id
    assert other is None  # another order's stream heard nothing (its heartbeat would go out)
    assert hub.feeds == {}  # the last stream of each order left: unsubscribed


def test_a_stopping_process_ends_every_stream(settings):
    async def drained():
        hub = live.hub()
        subscription = await hub.subscribe(str(uuid.uuid4()))
        hub.drain()
        late = await hub.subscribe(str(uuid.uuid4()))
        return await subscription.get(1), await late.get(1)

    assert asyncio.run(drained()) == (live.DRAIN, live.DRAIN)
