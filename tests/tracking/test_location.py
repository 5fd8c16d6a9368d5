"""Location pings: the newest point becomes the courier's position (Redis), the
trail keeps a downsampled few in PostgreSQL, bad input is refused, an off-duty
courier is told so, and the trail is forgotten after LOCATION_RETENTION_DAYS."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.tracking import positions, services
from apps.tracking.channel import channel_events_since
from apps.tracking.models import TrailPoint
from tests.tracking.conftest import DOOR, KITCHEN, NEAR_KITCHEN, go_online, open_delivery, ping, step

pytestmark = pytest.mark.django_db


def _at(seconds_ago: float) -> str:
    return (timezone.now() - dt.timedelta(seconds=seconds_ago)).isoformat()


def _position(courier):
    return positions.positions_read(courier_ids=[str(courier.pk)])[str(courier.pk)]


@pytest.fixture
def on_delivery(courier, courier_app):
    """The courier online, holding a claimed delivery."""
    delivery = open_delivery()
    go_online(courier_app)
    assert step(courier_app, delivery, "claim").status_code == 200
    return delivery


def test_one_point_becomes_the_couriers_position(courier, courier_app):
    go_online(courier_app)

    answer = ping(courier_app, {"lat": 48.86, "lng": 2.34})

    assert answer.status_code == 202, answer.json()
    assert answer.json() == {"points": 1}
    assert (_position(courier).lat, _position(courier).lng) == (48.86, 2.34)


def test_a_batch_oldest_first_leaves_the_newest_as_the_position(courier, courier_app):
    go_online(courier_app)
    batch = [{"lat": 48.86 + i / 1000, "lng": 2.34, "recorded_at": _at(49 - i)} for i in range(50)]

    assert ping(courier_app, batch).status_code == 202

    assert _position(courier).lat == pytest.approx(48.86 + 49 / 1000)
    # a late batch of older points does not move the courier back
    assert ping(courier_app, [{"lat": 1.0, "lng": 1.0, "recorded_at": _at(500)}]).status_code == 202
    assert _position(courier).lat == pytest.approx(48.86 + 49 / 1000)


@pytest.mark.parametrize(
    "body",
    [
        {"lat": 91, "lng": 2.3},
        {"lat": 48.8, "lng": -181},
        {"lat": "48.8", "lng": 2.3},
        {"lat": True, "lng": 2.3},
        {"lng": 2.3},
        {"lat": 48.8, "lng": 2.3, "recorded_at": "yesterday"},
        {"lat": 48.8, "lng": 2.3, "recorded_at": "2026-11-30T10:00:00"},  # no offset
        [],
        [{"lat": 48.8, "lng": 2.3}] * 51,
        [{"lat": 48.8, "lng": 2.3}, {"lat": 48.8, "lng": 200}],
        [{"lat": 48.8, "lng": 2.3}, "here"],
        "here",
        42,
    ],
)
def test_impossible_points_and_long_batches_are_refused(courier, courier_app, body):
    go_online(courier_app)

    answer = ping(courier_app, body)

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid"
    assert (_position(courier).lat, _position(courier).lng) == (NEAR_KITCHEN.lat, NEAR_KITCHEN.lng)


def test_a_list_error_names_the_point(courier_app):
    go_online(courier_app)
    answer = ping(courier_app, [{"lat": 48.8, "lng": 2.3}, {"lat": 48.8, "lng": 200}])
    assert answer.json()["fields"] == {"1.lng": ["A number from -180 to 180."]}


def test_an_offline_courier_without_a_delivery_is_off_duty(courier_app, make_client):
    from tests.factories.accounts import UserFactory

    never = make_client(UserFactory(courier=True))
    go_online(courier_app, online=False)

    for app in (courier_app, never):
        answer = ping(app, {"lat": 48.86, "lng": 2.34})
        assert answer.status_code == 403
        assert answer.json()["code"] == "courier_off_duty"


def test_a_courier_holding_a_delivery_may_ping_while_offline(courier_app, on_delivery):
    go_online(courier_app, online=False)
    assert ping(courier_app, {"lat": 48.86, "lng": 2.34}).status_code == 202


def test_the_trail_keeps_one_point_per_interval_or_distance(courier, courier_app, on_delivery, settings):
    settings.TRAIL_MIN_SECONDS = 15
    settings.TRAIL_MIN_METRES = 100
    # 30 pings a second apart standing still at the kitchen: the first, then one 15 s later
    standing = [{"lat": KITCHEN.lat, "lng": KITCHEN.lng, "recorded_at": _at(120 - i)} for i in range(30)]
    assert ping(courier_app, standing).status_code == 202
    kept = list(TrailPoint.objects.filter(delivery=on_delivery).order_by("recorded_at"))
    assert len(kept) == 2
    assert (kept[1].recorded_at - kept[0].recorded_at).total_seconds() == pytest.approx(15, abs=0.01)

    # riding: points 1 s apart but about 150 m from each other are each kept
    riding = [
        {"lat": KITCHEN.lat - 0.00135 * (i + 1), "lng": KITCHEN.lng, "recorded_at": _at(60 - i)} for i in range(5)
    ]
    for point in riding:  # one ping each, as the app sends them
        assert ping(courier_app, point).status_code == 202
    assert TrailPoint.objects.filter(delivery=on_delivery).count() == 2 + 5
    assert set(TrailPoint.objects.values_list("courier_id", flat=True)) == {courier.pk}


def test_an_idle_online_courier_leaves_no_trail(courier_app):
    go_online(courier_app)
    assert ping(courier_app, {"lat": 48.86, "lng": 2.34}).status_code == 202
    assert not TrailPoint.objects.exists()


def test_a_steady_ping_reads_and_writes_nothing_in_postgresql_but_the_signed_in_user(
    courier_app, on_delivery, django_assert_num_queries
):
    ping(courier_app, {"lat": KITCHEN.lat, "lng": KITCHEN.lng})  # the trail's first point

    with django_assert_num_queries(1):  # the user of the token
        assert ping(courier_app, {"lat": KITCHEN.lat, "lng": KITCHEN.lng}).status_code == 202


def test_a_lost_copy_of_the_duty_is_read_again_from_postgresql(courier, courier_app, on_delivery):
    positions.store().client.delete(f"trk:duty:{courier.pk}")

    assert ping(courier_app, {"lat": DOOR.lat, "lng": DOOR.lng}).status_code == 202
    assert TrailPoint.objects.filter(delivery=on_delivery).count() == 1


def test_a_released_delivery_takes_no_more_points(courier_app, on_delivery):
    assert step(courier_app, on_delivery, "release").status_code == 200
    assert ping(courier_app, {"lat": DOOR.lat, "lng": DOOR.lng}).status_code == 202  # still online
    assert not TrailPoint.objects.exists()


def test_the_trail_is_purged_after_the_retention_period(courier, on_delivery, settings):
    settings.LOCATION_RETENTION_DAYS = 30
    now = timezone.now()
    for days in (31, 29):
        TrailPoint.objects.create(
            delivery=on_delivery, courier=courier, lat=1, lng=1, recorded_at=now - dt.timedelta(days=days)
        )

    assert services.trail_purge(now=now) == 1

    assert [p.recorded_at.date() for p in TrailPoint.objects.all()] == [(now - dt.timedelta(days=29)).date()]


def test_the_newest_point_is_published_on_the_orders_channel_with_the_eta(courier_app, on_delivery, settings):
    settings.COURIER_SPEED_KMH = 15
    before = channel_events_since(reference=on_delivery.reference)

    batch = [{"lat": KITCHEN.lat, "lng": KITCHEN.lng}, {"lat": DOOR.lat + 0.001, "lng": DOOR.lng}]
    assert ping(courier_app, batch).status_code == 202

    events = channel_events_since(reference=on_delivery.reference)[len(before) :]
    assert [e.kind for e in events] == ["location"]  # the newest point only
    data = events[0].data
    assert set(data) == {"lat", "lng", "updated_at", "eta_minutes", "estimated_arrival_at"}
    assert (data["lat"], data["lng"]) == (DOOR.lat + 0.001, DOOR.lng)
    # not picked up: the preparation left (20 min) outlasts the ride back to the kitchen
    assert 20 <= data["eta_minutes"] <= 27
    assert dt.datetime.fromisoformat(data["estimated_arrival_at"]) > timezone.now() + dt.timedelta(minutes=19)


def test_a_claim_publishes_the_position_the_courier_last_gave(on_delivery):
    [claimed] = channel_events_since(reference=on_delivery.reference)

    assert claimed.kind == "location"
    assert (claimed.data["lat"], claimed.data["lng"]) == (NEAR_KITCHEN.lat, NEAR_KITCHEN.lng)
    assert claimed.data["eta_minutes"] is not None


def test_an_idle_courier_publishes_nothing(courier_app):
    delivery = open_delivery()
    go_online(courier_app)
    assert ping(courier_app, {"lat": 48.86, "lng": 2.34}).status_code == 202
    assert channel_events_since(reference=delivery.reference) == []
