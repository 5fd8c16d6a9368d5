"""Claims at the same instant, on real PostgreSQL transactions in threads: exactly one
courier gets a delivery, and a courier gets at most one delivery."""

from __future__ import annotations

from collections import Counter

import pytest

from apps.tracking.models import Assignment, Delivery
from tests.concurrency import all_at_once
from tests.conftest import Client
from tests.factories.accounts import UserFactory
from tests.tracking.conftest import go_online, open_delivery, step

pytestmark = pytest.mark.django_db(transaction=True)


def _online_courier() -> Client:
    app = Client().as_user(UserFactory(courier=True))
    assert go_online(app).status_code == 200
    return app


def test_ten_couriers_claiming_one_delivery_make_one_winner_and_nine_already_claimed():
    delivery = open_delivery()
    apps = [_online_courier() for _ in range(10)]

    answers = all_at_once([lambda app=app: step(app, delivery, "claim") for app in apps])

    assert Counter(status for status, _ in answers) == {200: 1, 409: 9}
    assert {body["code"] for status, body in answers if status == 409} == {"already_claimed"}
    [winner] = [body for status, body in answers if status == 200]
    delivery.refresh_from_db()
    assert delivery.status == "claimed"
    assert str(delivery.courier_id) == str(Assignment.objects.get(delivery=delivery).courier_id)
    assert winner["id"] == str(delivery.pk)


def test_one_courier_claiming_two_deliveries_at_once_gets_one():
    for _ in range(5):  # several rounds: the two claims meet in different orders
        first, second = open_delivery(), open_delivery()
        app = _online_courier()

        answers = all_at_once([lambda d=d, app=app: step(app, d, "claim") for d in (first, second)])

        assert sorted(status for status, _ in answers) == [200, 409]
        assert {body["code"] for status, body in answers if status == 409} == {"courier_busy"}
        held = Delivery.objects.filter(pk__in=[first.pk, second.pk], courier__isnull=False)
        assert held.count() == 1
        assert Assignment.objects.filter(delivery__in=[first, second]).count() == 1
