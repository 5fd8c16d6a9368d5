"""The per-order event channel against the run's real Redis (and without Redis)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIRequestFactory

from apps.tracking import channel
from foodiefast.errors import exception_handler
from tests.processes import closed_port


@pytest.fixture
def reference() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def raw() -> redis.Redis:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
    yield client
    client.close()


def test_events_come_back_in_order_after_any_id(reference):
    ids = [channel.channel_publish(reference=reference, kind="location", data={"lat": 48.85, "n": n}) for n in range(3)]

    assert [channel.id_key(i) for i in ids] == sorted(channel.id_key(i) for i in ids)
    every = channel.channel_events_since(reference=reference)
    assert [e.id for e in every] == ids
    assert [e.data["n"] for e in every] == [0, 1, 2]
    assert [e.id for e in channel.channel_events_since(reference=reference, after=ids[0])] == ids[1:]
    assert channel.channel_events_since(reference=reference, after=ids[-1]) == []
    # A Last-Event-ID that is not one of ours replays everything rather than failing.
    assert [e.id for e in channel.channel_events_since(reference=reference, after="garbage")] == ids


def test_each_order_has_its_own_channel(reference):
    other = str(uuid.uuid4())
    channel.channel_publish(reference=reference, kind="status", data={"status": "accepted"})
    channel.channel_publish(reference=other, kind="status", data={"status": "paid"})

    assert [e.data for e in channel.channel_events_since(reference=reference)] == [{"status": "accepted"}]


def test_latest_event_of_a_kind_even_far_back(reference):
    first = channel.channel_publish(reference=reference, kind="location", data={"lat": 1.0})
    for n in range(120):
        channel.channel_publish(reference=reference, kind="status", data={"status": "picked_up", "n": n})

    latest = channel.channel_latest(reference=reference, kind="location")
    assert latest.id == first
    assert latest.data == {"lat": 1.0}
    assert channel.channel_latest(reference=reference, kind="nothing") is None
    assert channel.channel_latest(reference=str(uuid.uuid4()), kind="location") is None


def test_the_final_event_ends_the_channel_and_shortens_its_life(reference, raw, settings):
    settings.TRACKING_CHANNEL_ENDED_TTL_SECONDS = 600
    channel.channel_publish(reference=reference, kind="location", data={"lat": 1.0})
    assert raw.ttl(channel.log_key(reference)) > 600
    assert not channel.channel_newest(reference=reference)["location"].final

    final = channel.channel_publish(reference=reference, kind="status", data={"status": "delivered"}, final=True)
    late = channel.channel_publish(reference=reference, kind="location", data={"lat": 2.0})

    assert late == ""
    newest = channel.channel_newest(reference=reference)
    assert newest["status"].final
    assert channel.newest_id(newest.values()) == final
    events = channel.channel_events_since(reference=reference)
    assert [e.id for e in events][-1] == final
    assert events[-1].final
    assert 0 < raw.ttl(channel.log_key(reference)) <= 600


def test_the_live_feed_carries_the_same_events_in_order(reference, raw):
    pubsub = raw.pubsub()
    pubsub.subscribe(channel.feed_name(reference))
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"

    ids = [channel.channel_publish(reference=reference, kind="location", data={"n": n}) for n in range(5)]
    ids.append(channel.channel_publish(reference=reference, kind="status", data={"status": "delivered"}, final=True))

    received = []
    while len(received) < len(ids):
        message = pubsub.get_message(timeout=2)
        assert message is not None, "the feed stopped"
        received.append(channel.decode_message(message["data"]))
    pubsub.close()
    assert [e.id for e in received] == ids
    assert [e.final for e in received] == [False] * 5 + [True]
    assert received[0] == channel.channel_events_since(reference=reference)[0]
    assert channel.reference_of(channel.feed_name(reference)) == reference


def test_async_reads_answer_as_the_sync_ones(reference):
    ids = [channel.channel_publish(reference=reference, kind=kind, data={}) for kind in ("location", "status")]

    async def read():
        since = await channel.channel_events_since_async(reference=reference, after=ids[0])
        newest = await channel.channel_newest_async(reference=reference)
        return since, newest

    since, newest = asyncio.run(read())
    assert since == channel.channel_events_since(reference=reference, after=ids[0])
    assert newest == channel.channel_newest(reference=reference)
    assert newest["location"] == channel.channel_latest(reference=reference, kind="location")


def test_redis_unreachable_is_a_503(reference, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"

    with pytest.raises(channel.ChannelUnavailable) as caught:
        channel.channel_publish(reference=reference, kind="location", data={"lat": 1.0})
    with pytest.raises(channel.ChannelUnavailable):
        channel.channel_events_since(reference=reference)

    response = exception_handler(caught.value, {"request": APIRequestFactory().get("/")})
    assert response.status_code == 503
    assert response.data["code"] == "service_unavailable"
    assert response["Retry-After"]


def test_without_redis_the_channel_lives_in_the_process(reference, settings):
    settings.REDIS_URL = ""
    heard = []
    remove = channel.add_memory_listener(lambda feed, message: heard.append((feed, channel.decode_message(message))))
    try:
        first = channel.channel_publish(reference=reference, kind="location", data={"lat": 1.0})
        final = channel.channel_publish(reference=reference, kind="status", data={"status": "cancelled"}, final=True)
        assert channel.channel_publish(reference=reference, kind="location", data={"lat": 2.0}) == ""
    finally:
        remove()

    assert [e.id for e in channel.channel_events_since(reference=reference, after=first)] == [final]
    assert channel.channel_latest(reference=reference, kind="location").data == {"lat": 1.0}
    assert channel.newest_id(channel.channel_newest(reference=reference).values()) == final
    feed = channel.feed_name(reference)
    assert [(name, e.id) for name, e in heard] == [(feed, first), (feed, final)]
