"""Couriers go online, see deliveries waiting near them, claim one, give it back,
pick it up once ready and hand it over; each step as the courier's app sees it."""

from __future__ import annotations

import pytest

from apps.orders.models import Order  # noqa: F401 - the app above exists; tracking never reads it
from apps.tracking.events import DeliveryClaimed, DeliveryCompleted, DeliveryPickedUp
from apps.tracking.models import Assignment, Delivery
from foodiefast.events import add_local_listener
from tests.factories.accounts import UserFactory
from tests.tracking.conftest import (
    FAR_AWAY,
    KITCHEN,
    NEAR_KITCHEN,
    available,
    go_online,
    open_delivery,
    step,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def announced():
    """The events published (after commit) while the test runs."""
    seen = []
    remove = add_local_listener(seen.append)
    yield seen
    remove()


def test_availability_answers_the_state_and_refuses_impossible_coordinates(courier_app):
    answer = go_online(courier_app)
    assert answer.status_code == 200, answer.json()
    assert answer.json()["online"] is True
    assert (answer.json()["lat"], answer.json()["lng"]) == (NEAR_KITCHEN.lat, NEAR_KITCHEN.lng)

    for lat, lng in [(91, 2.3), (-90.5, 2.3), (48.8, 181), (48.8, -180.01)]:
        refused = courier_app.post("/api/v1/courier/availability", {"online": True, "lat": lat, "lng": lng})
        assert refused.status_code == 400
        assert refused.json()["code"] == "invalid"
    assert courier_app.post("/api/v1/courier/availability", {"online": "yes", "lat": 1, "lng": 2}).status_code == 400


def test_an_online_courier_sees_waiting_deliveries_near_them_nearest_first(courier_app):
    farther = open_delivery(pickup=type(KITCHEN)(48.8738, 2.2950))  # Arc de Triomphe, ~3.2 km from the courier
    nearer = open_delivery()  # the Louvre, ~300 m
    beyond = open_delivery(pickup=FAR_AWAY)
    go_online(courier_app)

    listed = available(courier_app).json()["results"]

    assert [d["id"] for d in listed] == [str(nearer.pk), str(farther.pk)]
    assert str(beyond.pk) not in {d["id"] for d in listed}
    first = listed[0]
    assert set(first) >= {"id", "order_id", "pickup", "dropoff", "distance_km", "status"}
    assert first["order_id"] == nearer.reference
    assert first["pickup"] == {"lat": KITCHEN.lat, "lng": KITCHEN.lng, "address": "1 rue de Rivoli, Paris"}
    assert first["dropoff"]["address"] == "12 rue de Rivoli, 75004 Paris"
    assert first["status"] == "waiting"
    assert 0.2 < first["distance_km"] < 0.5
    assert "phone" not in first and "instructions" not in first


def test_offline_and_far_couriers_see_nothing(courier_app, make_client):
    open_delivery()
    never_online = make_client(UserFactory(courier=True))
    far = make_client(UserFactory(courier=True))
    go_online(far, FAR_AWAY)
    go_online(courier_app, online=False)

    assert available(courier_app).json()["results"] == []
    assert available(never_online).json()["results"] == []
    assert available(far).json()["results"] == []


def test_the_available_list_costs_the_same_queries_for_1_or_30_deliveries(courier_app, django_assert_num_queries):
    go_online(courier_app)
    open_delivery()
    with django_assert_num_queries(3):  # user, the courier's availability, the deliveries
        assert len(available(courier_app).json()["results"]) == 1
    for _ in range(29):
        open_delivery()
    with django_assert_num_queries(3):
        assert len(available(courier_app).json()["results"]) == 20


def test_a_claim_assigns_the_courier_records_why_and_shows_the_phone_to_them_only(
    courier, courier_app, make_client, announced
):
    delivery = open_delivery()
    go_online(courier_app)

    claimed = step(courier_app, delivery, "claim")

    assert claimed.status_code == 200, claimed.json()
    body = claimed.json()
    assert body["status"] == "claimed"
    assert body["phone"] == "+33 6 12 34 56 78"
    assert body["instructions"] == "Code 1234"
    [audit] = Assignment.objects.filter(delivery=delivery)
    assert (audit.action, audit.courier_id) == ("claimed", courier.pk)
    assert 0.2 < audit.distance_km < 0.5
    assert (audit.courier_lat, audit.courier_lng) == (NEAR_KITCHEN.lat, NEAR_KITCHEN.lng)
    assert [type(e) for e in announced] == [DeliveryClaimed]
    assert announced[0].reference == delivery.reference
    # gone from everyone's list
    other = make_client(UserFactory(courier=True))
    go_online(other)
    assert available(other).json()["results"] == []
    assert step(other, delivery, "claim").json()["code"] == "already_claimed"


def test_a_courier_holding_a_delivery_is_busy(courier_app):
    first, second = open_delivery(), open_delivery()
    go_online(courier_app)
    assert step(courier_app, first, "claim").status_code == 200

    busy = step(courier_app, second, "claim")

    assert busy.status_code == 409
    assert busy.json()["code"] == "courier_busy"
    assert Delivery.objects.get(pk=second.pk).courier_id is None
    # claiming one's own delivery again answers it
    assert step(courier_app, first, "claim").status_code == 200


def test_release_before_pickup_offers_it_again_with_an_audit_row(courier, courier_app, make_client):
    delivery = open_delivery()
    go_online(courier_app)
    step(courier_app, delivery, "claim")
    stranger = make_client(UserFactory(courier=True))

    assert step(stranger, delivery, "release").status_code == 404
    released = step(courier_app, delivery, "release")

    assert released.status_code == 200
    assert released.json()["status"] == "waiting"
    assert "phone" not in released.json()
    assert [a.action for a in Assignment.objects.filter(delivery=delivery)] == ["claimed", "released"]
    assert [d["id"] for d in available(courier_app).json()["results"]] == [str(delivery.pk)]
    assert step(courier_app, delivery, "release").status_code == 404  # no longer theirs


def test_pickup_needs_the_order_ready_and_deliver_needs_the_pickup(courier_app, make_client, announced):
    delivery = open_delivery()
    go_online(courier_app)
    step(courier_app, delivery, "claim")
    stranger = make_client(UserFactory(courier=True))

    early = step(courier_app, delivery, "pickup")
    assert (early.status_code, early.json()["code"]) == (409, "invalid_transition")
    assert step(courier_app, delivery, "deliver").json()["code"] == "invalid_transition"

    from apps.tracking.services import delivery_mark_ready

    delivery_mark_ready(reference=delivery.reference)
    assert step(stranger, delivery, "pickup").status_code == 404
    picked = step(courier_app, delivery, "pickup")
    assert picked.status_code == 200
    assert picked.json()["status"] == "picked_up"
    late_release = step(courier_app, delivery, "release")
    assert (late_release.status_code, late_release.json()["code"]) == (409, "invalid_transition")

    assert step(stranger, delivery, "deliver").status_code == 404
    delivered = step(courier_app, delivery, "deliver")
    assert delivered.status_code == 200
    assert delivered.json()["status"] == "delivered"
    # the door's address and phone are forgotten once delivered
    assert delivered.json()["phone"] == ""
    assert Delivery.objects.get(pk=delivery.pk).dropoff_address == ""
    assert [type(e) for e in announced] == [DeliveryClaimed, DeliveryPickedUp, DeliveryCompleted]
    assert {e.reference for e in announced} == {delivery.reference}


def test_only_couriers_use_the_courier_api(make_client, customer, chef_user, api):
    delivery = open_delivery()
    for user in (customer, chef_user):
        client = make_client(user)
        assert client.get("/api/v1/courier/deliveries/available").status_code == 403
        assert go_online(client).json()["code"] == "permission_denied"
        assert step(client, delivery, "claim").status_code == 403
        assert client.post("/api/v1/courier/location", {"lat": 1, "lng": 2}, format="json").status_code == 403
    assert api.get("/api/v1/courier/deliveries/available").status_code == 401


def test_a_claim_of_a_cancelled_or_unknown_delivery_is_not_found(courier_app):
    from apps.tracking.services import delivery_cancel

    delivery = open_delivery()
    delivery_cancel(reference=delivery.reference)
    go_online(courier_app)

    assert step(courier_app, delivery, "claim").status_code == 404
    assert courier_app.post("/api/v1/courier/deliveries/00000000-0000-0000-0000-000000000000/claim").status_code == 404
