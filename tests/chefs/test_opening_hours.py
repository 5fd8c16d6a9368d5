"""Weekly opening hours through the chef API: a whole week replaced or nothing changes."""

from __future__ import annotations

import pytest

from apps.chefs.models import OpeningHours
from tests.factories.chefs import KitchenFactory, OpeningHoursFactory

pytestmark = pytest.mark.django_db

WEEK = [
    {"weekday": 0, "opens": "12:00", "closes": "14:30"},
    {"weekday": 0, "opens": "19:00", "closes": "22:30"},
    {"weekday": 5, "opens": "18:00", "closes": "24:00"},
    {"weekday": 6, "opens": "00:00", "closes": "01:30"},
]


@pytest.fixture
def kitchen(chef_user):
    return KitchenFactory(chef=chef_user)


def test_put_replaces_the_week_and_get_returns_it(make_client, kitchen):
    OpeningHoursFactory(kitchen=kitchen, weekday=3)
    client = make_client(kitchen.chef)

    response = client.put("/api/v1/chef/opening-hours", WEEK[::-1])

    assert response.status_code == 200
    assert response.json() == WEEK
    assert client.get("/api/v1/chef/opening-hours").json() == WEEK
    assert not OpeningHours.objects.filter(kitchen=kitchen, weekday=3).exists()


def test_an_empty_list_closes_the_kitchen_all_week(make_client, kitchen):
    OpeningHoursFactory(kitchen=kitchen)
    response = make_client(kitchen.chef).put("/api/v1/chef/opening-hours", [])
    assert response.status_code == 200
    assert response.json() == []
    assert not OpeningHours.objects.filter(kitchen=kitchen).exists()


@pytest.mark.parametrize(
    ("slot", "field"),
    [
        ({"weekday": 0, "opens": "14:00", "closes": "12:00"}, "0.closes"),
        ({"weekday": 0, "opens": "12:00", "closes": "12:00"}, "0.closes"),
        ({"weekday": 0, "opens": "22:00", "closes": "02:00"}, "0.closes"),
        ({"weekday": 7, "opens": "12:00", "closes": "14:00"}, "0.weekday"),
        ({"weekday": 0, "opens": "24:00", "closes": "24:00"}, "0.opens"),
        ({"weekday": 0, "opens": "12:00", "closes": "24:30"}, "0.closes"),
        ({"weekday": 0, "opens": "noon", "closes": "14:00"}, "0.opens"),
        ({"weekday": 0, "opens": "12:00"}, "0.closes"),
    ],
)
def test_bad_slots_are_refused_and_the_week_stays_as_it_was(make_client, kitchen, slot, field):
    OpeningHoursFactory(kitchen=kitchen, weekday=2, opens_minute=600, closes_minute=900)

    response = make_client(kitchen.chef).put("/api/v1/chef/opening-hours", [slot])

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["fields"]
    assert list(OpeningHours.objects.filter(kitchen=kitchen).values_list("weekday", "opens_minute")) == [(2, 600)]


@pytest.mark.parametrize(
    "payload",
    [
        {"weekday": 0, "opens": "12:00", "closes": "14:00"},
        [{"weekday": 0, "opens": "12:00", "closes": "14:00"}, {"weekday": 0, "opens": "13:00", "closes": "15:00"}],
    ],
)
def test_a_body_that_is_not_a_list_of_separate_slots_is_refused(make_client, kitchen, payload):
    OpeningHoursFactory(kitchen=kitchen)
    response = make_client(kitchen.chef).put("/api/v1/chef/opening-hours", payload)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert OpeningHours.objects.filter(kitchen=kitchen).count() == 1
