"""No photo is ``null`` on the wire, never ``""``, wherever a photo is shown."""

from __future__ import annotations

import pytest

from tests.factories.chefs import PARIS, KitchenFactory
from tests.factories.menus import DishFactory

pytestmark = pytest.mark.django_db

HERE = f"lat={PARIS[0]}&lng={PARIS[1]}"


def test_without_photos_every_photo_url_is_null(api, make_client):
    dish = DishFactory()
    kitchen = dish.kitchen

    assert api.get(f"/api/v1/dishes?{HERE}").json()["results"][0]["photo_url"] is None
    assert api.get(f"/api/v1/dishes/{dish.pk}").json()["photo_url"] is None
    assert api.get(f"/api/v1/chefs?{HERE}").json()["results"][0]["photo_url"] is None
    page = api.get(f"/api/v1/chefs/{kitchen.pk}").json()
    assert (page["photo_url"], page["dishes"][0]["photo_url"]) == (None, None)
    chef = make_client(kitchen.chef)
    assert chef.get("/api/v1/chef/profile").json()["photo_url"] is None
    assert chef.get("/api/v1/chef/dishes").json()["results"][0]["photo_url"] is None


def test_photo_url_is_read_only_written_by_the_photo_pipeline_alone(make_client):
    chef = make_client(KitchenFactory().chef)

    answer = chef.patch("/api/v1/chef/profile", {"photo_url": "https://cdn.example.com/k/1.jpg"})

    assert answer.status_code == 200
    assert (answer.json()["photo_url"], answer.json()["photo_status"]) == (None, None)
