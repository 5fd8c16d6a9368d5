"""The order follows its delivery and the customer follows both: acceptance opens
the delivery, ready makes it pickable, a cancel cancels it; ``GET
/orders/{id}/tracking`` shows the courier and the ETA in every status, to the order's
customer only. Orders placed, paid and accepted for real (captured at localstripe)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.orders import services as order_services
from apps.orders.models import Order
from apps.tracking.models import Delivery
from foodiefast.geo import Point, haversine_km
from tests.factories.accounts import UserFactory
from tests.tracking.conftest import DOOR, KITCHEN, NEAR_KITCHEN, commits, go_online, ping, step

pytestmark = pytest.mark.django_db

SPEED = 15  # km/h


def _ride_minutes(a: Point, b: Point) -> float:
    return haversine_km(a, b) / SPEED * 60


def tracking(client, order_id):
    return client.get(reverse("v1:order-tracking", args=[order_id]))


def _chef(chef_app, action: str, order_id, **body):
    return chef_app.post(reverse(f"v1:chef-order-{action}", args=[order_id]), body, format="json")


@pytest.fixture(autouse=True)
def _speed(settings):
    settings.COURIER_SPEED_KMH = SPEED


@pytest.fixture
def accepted(paid_order, chef_app):
    with commits():
        answer = _chef(chef_app, "accept", paid_order.pk, prep_minutes=20)
    assert answer.status_code == 200, answer.json()
    return Order.objects.get(pk=paid_order.pk)


def test_acceptance_opens_the_delivery_as_the_order_says(accepted, kitchen):
    delivery = Delivery.objects.get(reference=str(accepted.pk))

    assert delivery.status == "waiting"
    assert (delivery.pickup_lat, delivery.pickup_lng, delivery.pickup_address) == (
        kitchen.lat,
        kitchen.lng,
        kitchen.address,
    )
    assert (delivery.dropoff_lat, delivery.dropoff_lng) == (accepted.delivery_lat, accepted.delivery_lng)
    assert delivery.dropoff_phone == accepted.delivery_phone
    assert delivery.expected_ready_at == accepted.accepted_at + dt.timedelta(minutes=20)
    assert delivery.ready_at is None


def test_before_acceptance_the_customer_sees_the_points_and_nothing_else(paid_order, customer_app, kitchen):
    shown = tracking(customer_app, paid_order.pk)

    assert shown.status_code == 200
    assert shown.json() == {
        "status": "paid",
        "courier": None,
        "eta_minutes": None,
        "estimated_arrival_at": None,
        "pickup": {"lat": kitchen.lat, "lng": kitchen.lng},
        "dropoff": {"lat": paid_order.delivery_lat, "lng": paid_order.delivery_lng},
    }


def test_the_customer_follows_the_order_from_acceptance_to_the_door(accepted, customer_app, chef_app, make_client):
    courier = UserFactory(courier=True, full_name="Karim Benali")
    courier_app = make_client(courier)
    delivery = Delivery.objects.get(reference=str(accepted.pk))
    to_door = _ride_minutes(KITCHEN, DOOR)

    # accepted, nobody assigned: the preparation left, then the ride
    shown = tracking(customer_app, accepted.pk).json()
    assert shown["status"] == "accepted"
    assert shown["courier"] is None
    assert shown["eta_minutes"] == pytest.approx(20 + to_door, abs=1.5)
    arrival = dt.datetime.fromisoformat(shown["estimated_arrival_at"])
    assert arrival - timezone.now() == pytest.approx(dt.timedelta(minutes=20 + to_door), abs=dt.timedelta(minutes=1))

    # claimed: the courier and the position they gave with their availability
    go_online(courier_app)
    assert step(courier_app, delivery, "claim").status_code == 200
    shown = tracking(customer_app, accepted.pk).json()
    assert shown["courier"]["name"] == "Karim"
    assert (shown["courier"]["lat"], shown["courier"]["lng"]) == (NEAR_KITCHEN.lat, NEAR_KITCHEN.lng)
    assert shown["eta_minutes"] == pytest.approx(20 + to_door, abs=1.5)  # cooking outlasts the ride to the kitchen

    # not ready: no pickup
    assert step(courier_app, delivery, "pickup").json()["code"] == "invalid_transition"
    with commits():
        assert _chef(chef_app, "ready", accepted.pk).status_code == 200
    shown = tracking(customer_app, accepted.pk).json()
    assert shown["status"] == "ready_for_pickup"
    assert shown["eta_minutes"] == pytest.approx(_ride_minutes(NEAR_KITCHEN, KITCHEN) + to_door, abs=1.5)

    # picked up: the order moves with the news; the ETA is the ride from the courier to the door
    assert step(courier_app, delivery, "pickup").status_code == 200
    assert Order.objects.get(pk=accepted.pk).status == "picked_up"
    halfway = Point((KITCHEN.lat + DOOR.lat) / 2, (KITCHEN.lng + DOOR.lng) / 2)
    assert ping(courier_app, {"lat": halfway.lat, "lng": halfway.lng}).status_code == 202
    shown = tracking(customer_app, accepted.pk).json()
    assert shown["status"] == "picked_up"
    assert (shown["courier"]["lat"], shown["courier"]["lng"]) == (halfway.lat, halfway.lng)
    assert shown["eta_minutes"] == pytest.approx(_ride_minutes(halfway, DOOR), abs=1)

    # delivered: no courier, no ETA
    assert step(courier_app, delivery, "deliver").status_code == 200
    shown = tracking(customer_app, accepted.pk).json()
    assert shown["status"] == "delivered"
    assert (shown["courier"], shown["eta_minutes"], shown["estimated_arrival_at"]) == (None, None, None)


def test_staff_cancelling_an_accepted_order_cancels_its_delivery_and_frees_the_courier(
    accepted, customer_app, make_client
):
    courier_app = make_client(UserFactory(courier=True))
    delivery = Delivery.objects.get(reference=str(accepted.pk))
    go_online(courier_app)
    step(courier_app, delivery, "claim")

    with commits():
        order_services.order_cancel_by_staff(order_id=accepted.pk, reason="The kitchen flooded.")

    assert Delivery.objects.get(pk=delivery.pk).status == "cancelled"
    shown = tracking(customer_app, accepted.pk).json()
    assert (shown["status"], shown["courier"], shown["eta_minutes"]) == ("cancelled", None, None)
    assert courier_app.get(reverse("v1:courier-current")).status_code == 404
    assert ping(courier_app, {"lat": 48.86, "lng": 2.34}).status_code == 202  # online, free again


def test_only_the_orders_customer_sees_its_tracking(paid_order, make_client):
    other = make_client(UserFactory())
    assert tracking(other, paid_order.pk).status_code == 404
    assert tracking(make_client(UserFactory(courier=True)), paid_order.pk).status_code == 403
