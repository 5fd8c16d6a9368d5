"""Tracking test helpers: couriers around the Louvre kitchen, deliveries opened as
orders open them (through tracking's own service), the courier's app."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from apps.tracking import services
from apps.tracking.models import Delivery
from foodiefast.geo import Point
from tests.factories.accounts import UserFactory
from tests.factories.chefs import PARIS

# Orders placed, paid (at localstripe) and accepted for real, for the tests of the
# order's tracking.
from tests.orders.conftest import chef_app, customer_app, dish, kitchen, paid_order, pay, placed, stripe_double

KITCHEN = Point(*PARIS)  # the Louvre
DOOR = Point(48.8566, 2.3522)  # Hôtel de Ville, about 1.3 km away
NEAR_KITCHEN = Point(48.8625, 2.3400)  # about 300 m from the kitchen
FAR_AWAY = Point(48.9566, 2.5522)  # Saint-Denis side, about 19 km


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs what waits for the commit (events, Redis copies)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def open_delivery(*, ready: bool = False, pickup: Point = KITCHEN, prep_minutes: int = 20, **kwargs) -> Delivery:
    """A delivery as an accepted order opens it (and marks it ready when asked)."""
    reference = str(uuid.uuid4())
    delivery = services.delivery_open(
        reference=reference,
        pickup=pickup,
        pickup_address="1 rue de Rivoli, Paris",
        dropoff=DOOR,
        dropoff_address="12 rue de Rivoli, 75004 Paris",
        instructions="Code 1234",
        phone="+33 6 12 34 56 78",
        expected_ready_at=timezone.now() + dt.timedelta(minutes=prep_minutes),
        **kwargs,
    )
    if ready:
        services.delivery_mark_ready(reference=reference)
        delivery.refresh_from_db()
    return delivery


@pytest.fixture
def courier(db):
    return UserFactory(courier=True, full_name="Karim Benali")


@pytest.fixture
def courier_app(make_client, courier):
    return make_client(courier)


def commits():
    """``with commits():`` runs what the block's commits owe (events and the outbox
    relay, eager here; Redis copies) at its end, as a request's end would."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def _committed(request):
    """Each call of the courier's app is a request of its own: what waits for its
    commit runs before the next one, as in production."""
    with commits():
        return request()


def go_online(client, point: Point = NEAR_KITCHEN, *, online: bool = True):
    body = {"online": online, "lat": point.lat, "lng": point.lng}
    return _committed(lambda: client.post(reverse("v1:courier-availability"), body))


def step(client, delivery, action: str):
    """POST /courier/deliveries/{id}/<action> (claim, release, pickup, deliver)."""
    return _committed(lambda: client.post(reverse(f"v1:courier-{action}", args=[delivery.pk])))


def ping(client, body):
    return _committed(lambda: client.post(reverse("v1:courier-location"), body, format="json"))


def available(client):
    return client.get(reverse("v1:courier-available"))


__all__ = ["chef_app", "customer_app", "dish", "kitchen", "paid_order", "pay", "placed", "stripe_double"]
