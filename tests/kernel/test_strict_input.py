"""JSON in, and only JSON: types as documented, a JSON media type, sane nesting."""

from __future__ import annotations

import json

import pytest

from apps.chefs.models import Kitchen
from apps.menus.models import Dish
from tests.factories.chefs import KitchenFactory

pytestmark = pytest.mark.django_db

DISH = {"name": "Ratatouille", "price_cents": 1200, "allergens": [], "portions_per_day": 5}


@pytest.fixture
def chef(make_client):
    return make_client(KitchenFactory().chef)


def test_a_price_sent_as_a_string_creates_no_dish(chef):
    response = chef.post("/api/v1/chef/dishes", {**DISH, "price_cents": "100"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["fields"]) == ["price_cents"]
    assert not Dish.objects.exists()


@pytest.mark.parametrize("value", [0, 1, "false", "true"])
def test_pausing_takes_only_a_json_boolean(chef, value):
    response = chef.patch("/api/v1/chef/profile", {"is_paused": value}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"is_paused": ["Must be a valid boolean."]}
    assert Kitchen.objects.get().is_paused is False


@pytest.mark.parametrize(
    ("field", "value"),
    [("portions_per_day", True), ("name", 12), ("lat", "48.8"), ("allergens", [1])],
)
def test_no_field_takes_another_json_type(chef, field, value):
    target = "/api/v1/chef/profile" if field == "lat" else "/api/v1/chef/dishes"
    body = {"lat": value, "lng": 2.3} if field == "lat" else {**DISH, field: value}

    response = chef.patch(target, body, format="json") if field == "lat" else chef.post(target, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in next(iter(response.json()["fields"]))


def test_the_right_types_are_still_welcome(chef):
    response = chef.post("/api/v1/chef/dishes", {**DISH, "is_available": False}, format="json")

    assert response.status_code == 201
    assert (response.json()["price_cents"], response.json()["is_available"]) == (1200, False)


def test_a_form_encoded_body_is_415_in_json(chef):
    form = "name=Soup&price_cents=100&portions_per_day=5"

    response = chef.generic("POST", "/api/v1/chef/dishes", form, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response.json() == {"code": "unsupported_media_type", "detail": "Send the body as application/json."}
    assert not Dish.objects.exists()


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", ""])
def test_a_body_not_declared_json_is_415_even_where_no_body_is_read(api, customer, content_type):
    api.as_user(customer)
    response = api.generic("DELETE", "/api/v1/me", "a=b", content_type=content_type)

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    customer.refresh_from_db()
    assert customer.is_active


def test_json_with_a_charset_is_json(api):
    response = api.generic(
        "POST",
        "/api/v1/auth/token",
        json.dumps({"email": "x@example.com", "password": "nope"}),
        content_type="application/json; charset=utf-8",
    )

    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/auth/register", "/api/v1/chef/dishes"])
def test_json_nested_1000_levels_deep_is_400_invalid(chef, path):
    body = "[" * 1000 + "]" * 1000

    response = chef.generic("POST", path, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "nested deeper" in response.json()["detail"]


def test_errors_inside_a_list_are_keyed_by_their_position(chef):
    response = chef.post("/api/v1/chef/dishes", {**DISH, "allergens": ["milk", "chocolate"]}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"allergens.1": ['"chocolate" is not a valid choice.']}


def test_opening_hours_take_a_weekday_as_a_number_and_times_as_hh_mm(chef):
    response = chef.put(
        "/api/v1/chef/opening-hours",
        [{"weekday": "1", "opens": "12:00", "closes": "14:00"}, {"weekday": 2, "opens": "9:00", "closes": "14:00"}],
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"0.weekday", "1.opens"}
    assert chef.get("/api/v1/chef/opening-hours").json() == []
