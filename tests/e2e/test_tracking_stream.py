"""The customer's live tracking stream against the Procfile's real web processes: two
of them (as behind the router), events published by one reaching streams held by the
other, replays with Last-Event-ID, the end of an order, SIGTERM and a Redis outage.

Courier positions are published with ``channel_publish`` from the test, as the
courier API does; status moves come from the API (the customer cancels)."""

from __future__ import annotations

import json
import threading
import time

import pytest
import redis
import requests

from apps.tracking.channel import ChannelUnavailable, channel_publish, feed_name, id_key
from apps.tracking.live import CLIENT_NAME
from tests.e2e.ordering import DROP_OFF, HTTPS, open_kitchen, place_order, signed_in
from tests.processes import RedisServer, start_web, wait_for
from tests.tracking_stream.sse import Sse

HEARTBEAT_SECONDS = "1"


def _web_env(released: dict[str, str], **extra: str) -> dict[str, str]:
    return {**released, "TRACKING_STREAM_HEARTBEAT_SECONDS": HEARTBEAT_SECONDS, "WEB_CONCURRENCY": "1", **extra}


@pytest.fixture(scope="module")
def webs(released, tmp_path_factory):
    """Two web processes of the same deployment (each one gunicorn worker)."""
    started = []
    try:
        for name in ("a", "b"):
            started.append(start_web(_web_env(released), log_path=tmp_path_factory.mktemp(f"web-{name}") / "log"))
        yield started
    finally:
        for process in started:
            process.stop()


@pytest.fixture(scope="module")
def kitchen(webs, released):
    dish = {"name": "Pad thaï", "price_cents": 1300, "allergens": ["peanuts"], "portions_per_day": 500}
    return open_kitchen(webs[0].base_url, released, chef_name="Somchai Dee", kitchen_name="Chez Somchai", dish=dish)


@pytest.fixture
def publish(settings, released):
    """The courier API's part: positions published into the deployment's channel."""
    settings.REDIS_URL = released["REDIS_URL"]

    def publish(order: dict, **position) -> str:
        data = {"lat": 48.86, "lng": 2.34, "updated_at": "2026-01-01T12:00:00Z", "eta_minutes": 5, **position}
        return channel_publish(reference=order["id"], kind="location", data=data)

    return publish


def _new_order(webs, kitchen) -> dict:
    customer = signed_in(webs[0].base_url, "customer", "Léa Petit")
    customer.pop("email")
    body = {"items": [{"dish_id": kitchen["dish_id"], "quantity": 1}], "delivery": DROP_OFF}
    placed = place_order(webs[0].base_url, customer, body)
    assert placed.status_code == 201, placed.text
    return {"id": placed.json()["id"], "customer": customer}


@pytest.fixture
def order(webs, kitchen):
    return _new_order(webs, kitchen)


def _stream(web, order: dict, *, last_event_id: str | None = None, headers: dict | None = None) -> Sse:
    headers = dict(order["customer"] if headers is None else headers)
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    return Sse(f"{web.base_url}/api/v1/orders/{order['id']}/tracking/stream", headers)


def _cancel(web, order: dict) -> None:
    cancelled = requests.post(
        f"{web.base_url}/api/v1/orders/{order['id']}/cancel", headers=order["customer"], timeout=10
    )
    assert cancelled.status_code == 200, cancelled.text


def _data(block: dict) -> dict:
    return json.loads(block["data"])


def test_a_stream_opens_with_the_current_status(webs, order):
    stream = _stream(webs[1], order)

    first = stream.next_event()
    stream.close()
    assert stream.status == 200
    assert stream.response.headers["Content-Type"].startswith("text/event-stream")
    assert first["event"] == "status"
    assert _data(first)["status"] == "pending_payment"
    assert first["id"]


def test_pings_and_moves_made_elsewhere_reach_the_stream_within_2_s_in_order(webs, order, publish):
    stream = _stream(webs[1], order)
    assert stream.next_event()["event"] == "status"

    seen = []
    for n in range(3):
        sent_at = time.monotonic()
        published = publish(order, lat=48.86 + n / 1000)
        block = stream.next_event()
        assert time.monotonic() - sent_at < 2
        seen.append(block)
        assert block["id"] == published
    sent_at = time.monotonic()
    _cancel(webs[0], order)  # the move is made by the other web process
    final = stream.next_event()
    assert time.monotonic() - sent_at < 2

    assert [b["event"] for b in seen] == ["location"] * 3
    assert [_data(b)["lat"] for b in seen] == [48.86, 48.861, 48.862]
    assert final["event"] == "status"
    assert _data(final)["status"] == "cancelled"
    assert _data(final)["at"]
    ids = [b["id"] for b in [*seen, final]]
    assert ids == sorted(ids, key=id_key)
    assert stream.rest() == []  # the stream ended after the final status
    assert stream.ended


def test_each_stream_carries_only_its_own_orders_events(webs, kitchen, order, publish):
    other = _new_order(webs, kitchen)
    mine, theirs = _stream(webs[0], order), _stream(webs[1], other)
    mine.next_event(), theirs.next_event()

    publish(order, lat=48.87)
    publish(other, lat=48.75)
    _cancel(webs[0], other)

    assert _data(mine.next_event())["lat"] == 48.87
    rest = [b for b in theirs.rest() if "comment" not in b]
    assert [(b["event"], _data(b).get("lat") or _data(b).get("status")) for b in rest] == [
        ("location", 48.75),
        ("status", "cancelled"),
    ]
    mine.close()


def test_a_web_process_follows_each_order_once_on_one_connection(webs, kitchen, order, released, settings):
    settings.REDIS_URL = released["REDIS_URL"]  # the feeds' names carry the deployment's Redis db
    other = _new_order(webs, kitchen)
    streams = [_stream(webs[0], each) for each in (order, order, other, other)]
    for stream in streams:
        stream.next_event()
    client = redis.Redis.from_url(released["REDIS_URL"], socket_timeout=2)
    try:
        followers = dict(client.pubsub_numsub(*(feed_name(each["id"]) for each in (order, other))))
        feeds = [c for c in client.client_list() if c["name"].startswith(CLIENT_NAME) and int(c["sub"]) == 2]
    finally:
        client.close()
        for stream in streams:
            stream.close()

    # Two streams of each order, one subscription of each feed, both on one connection.
    assert sorted(followers.values()) == [1, 1]
    assert len(feeds) == 1


def test_a_new_stream_starts_from_the_latest_position(webs, order, publish):
    publish(order, lat=48.1)
    publish(order, lat=48.2)

    stream = _stream(webs[0], order)
    status, location = stream.next_event(), stream.next_event()
    stream.close()

    assert (status["event"], location["event"]) == ("status", "location")
    assert _data(location)["lat"] == 48.2
    assert status["id"] == location["id"]


def test_last_event_id_brings_what_was_missed_then_what_happens(webs, order, publish):
    first = _stream(webs[0], order)
    last_seen = first.next_event()["id"]
    first.close()
    missed = [publish(order, lat=48.3), publish(order, lat=48.4)]

    again = _stream(webs[1], order, last_event_id=last_seen)
    replayed = [again.next_event(), again.next_event()]
    live = publish(order, lat=48.5)
    after = again.next_event()
    again.close()

    assert [b["id"] for b in replayed] == missed
    assert [_data(b)["lat"] for b in replayed] == [48.3, 48.4]
    assert after["id"] == live  # no duplicate, no gap


def test_an_ended_order_answers_204_unless_the_client_missed_its_end(webs, order, publish):
    stream = _stream(webs[0], order)
    before_end = stream.next_event()["id"]
    stream.close()
    publish(order, lat=48.6)
    _cancel(webs[1], order)

    fresh = _stream(webs[1], order)
    missed_end = _stream(webs[0], order, last_event_id=before_end)
    blocks = missed_end.rest()

    assert fresh.status == 204
    assert missed_end.status == 200
    assert [b["event"] for b in blocks] == ["location", "status"]
    assert _data(blocks[-1])["status"] == "cancelled"
    up_to_date = _stream(webs[0], order, last_event_id=blocks[-1]["id"])
    assert up_to_date.status == 204


def test_a_quiet_stream_gets_a_heartbeat(webs, order):
    stream = _stream(webs[0], order)
    stream.next_event()

    beats = [stream.next(), stream.next()]  # each within the reader's 5 s
    stream.close()

    assert beats == [{"comment": "keep-alive"}, {"comment": "keep-alive"}]


def test_only_the_orders_customer_may_follow_it(webs, kitchen, order):
    stranger = signed_in(webs[0].base_url, "customer", "Paul Durand")
    stranger.pop("email")
    url = f"{webs[0].base_url}/api/v1/orders/{order['id']}/tracking/stream"
    unknown = f"{webs[0].base_url}/api/v1/orders/00000000-0000-4000-8000-000000000000/tracking/stream"

    others = requests.get(url, headers=stranger, timeout=5)
    nobody = requests.get(url, headers=HTTPS, timeout=5)
    forged = requests.get(url, headers={**HTTPS, "Authorization": "Bearer not.a.token"}, timeout=5)
    missing = requests.get(unknown, headers=order["customer"], timeout=5)
    chef = requests.get(url, headers=kitchen["chef"], timeout=5)
    french = requests.get(url, headers={**HTTPS, "Accept-Language": "fr"}, timeout=5)

    assert (others.status_code, others.json()["code"]) == (404, "not_found")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert (nobody.status_code, nobody.json()["code"]) == (401, "not_authenticated")
    assert (forged.status_code, forged.json()["code"]) == (401, "not_authenticated")
    assert (chef.status_code, chef.json()["code"]) == (403, "permission_denied")
    assert others.json()["detail"] and nobody.json()["detail"]
    assert (french.status_code, french.json()["code"]) == (401, "not_authenticated")
    assert french.json()["detail"] == "Informations d'authentification non fournies."


def test_sigterm_ends_streams_with_a_retry_hint_and_nothing_is_missed(webs, order, publish, released, tmp_path):
    leaving = start_web(_web_env(released), log_path=tmp_path / "web-leaving.log")
    try:
        stream = _stream(leaving, order)
        last_seen = stream.next_event()["id"]
        stopping = threading.Thread(target=leaving.stop)
        signalled = time.monotonic()
        stopping.start()

        ending = stream.rest()
        stopping.join(timeout=20)
        stopped_in = time.monotonic() - signalled
    finally:
        leaving.stop()
    published_meanwhile = publish(order, lat=48.7)
    again = _stream(webs[0], order, last_event_id=last_seen)
    missed = again.next_event()
    again.close()

    [hint] = [b for b in ending if "comment" not in b]
    assert set(hint) == {"retry"} and 1000 <= int(hint["retry"]) <= 1000 + 2000  # the base delay, jittered
    assert stopped_in < 15  # the platform's deadline after SIGTERM; no stream held it
    assert missed["id"] == published_meanwhile


def test_streams_keep_their_heartbeat_while_redis_is_down_and_resume(webs, kitchen, released, settings, tmp_path):
    followed, cancelled = _new_order(webs, kitchen), _new_order(webs, kitchen)
    redis_server = RedisServer(tmp_path)
    web = start_web(_web_env(released, REDIS_URL=redis_server.url), log_path=tmp_path / "web-own-redis.log")
    settings.REDIS_URL = redis_server.url
    try:
        stream, ending = _stream(web, followed), _stream(web, cancelled)
        assert stream.next_event()["event"] == ending.next_event()["event"] == "status"

        redis_server.kill()
        beats = [stream.next(), stream.next(), stream.next()]
        _cancel(web, cancelled)  # a move made while its event cannot be published
        redis_server.start()

        def published():
            try:
                return channel_publish(reference=followed["id"], kind="location", data={"lat": 48.9, "lng": 2.3})
            except ChannelUnavailable:
                return None

        event_id = wait_for(published, timeout=10)
        resumed = stream.next_event()
        stream.close()
        caught_up = [b for b in ending.rest() if "comment" not in b]
    finally:
        web.stop()
        redis_server.close()

    assert beats == [{"comment": "keep-alive"}] * 3
    assert resumed["id"] == event_id
    assert _data(resumed)["lat"] == 48.9
    # Once Redis is back, the web process re-publishes the status its channel missed.
    assert [(b["event"], _data(b)["status"]) for b in caught_up] == [("status", "cancelled")]
