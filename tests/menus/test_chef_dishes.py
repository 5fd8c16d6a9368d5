"""The chef's own dishes through the chef API."""

from __future__ import annotations

import pytest

from apps.menus.models import Dish
from tests.factories.chefs import KitchenFactory
from tests.factories.menus import DishFactory

pytestmark = pytest.mark.django_db

NEW_DISH = {
    "name": "Boeuf bourguignon",
    "description": "Beef, red wine, carrots.",
    "price_cents": 1450,
    "dietary_tags": ["gluten-free"],
    "allergens": ["celery", "sulphites"],
    "portions_per_day": 12,
}


@pytest.fixture
def kitchen(chef_user):
    return KitchenFactory(chef=chef_user)


def test_a_chef_adds_a_dish_with_full_stock(make_client, kitchen):
    response = make_client(kitchen.chef).post("/api/v1/chef/dishes", NEW_DISH)

    assert response.status_code == 201
    body = response.json()
    assert body["portions_left"] == 12
    assert body["allergens"] == ["celery", "sulphites"]
    assert body["dietary_tags"] == ["gluten-free"]
    assert body["currency"] == "EUR"
    assert body["is_available"] is True
    assert Dish.objects.get(pk=body["id"]).kitchen == kitchen


def test_an_empty_allergen_list_declares_none(make_client, kitchen):
    response = make_client(kitchen.chef).post("/api/v1/chef/dishes", {**NEW_DISH, "allergens": []})
    assert response.status_code == 201
    assert response.json()["allergens"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"allergens": None}, "allergens"),
        ({"allergens": ["gluten", "pollen"]}, "allergens.1"),
        ({"dietary_tags": ["carnivore"]}, "dietary_tags.0"),
        ({"price_cents": 0}, "price_cents"),
        ({"price_cents": 12.5}, "price_cents"),
        ({"portions_per_day": -1}, "portions_per_day"),
        ({"name": ""}, "name"),
    ],
)
def test_a_dish_without_a_valid_declaration_or_price_is_refused(make_client, kitchen, change, field):
    response = make_client(kitchen.chef).post("/api/v1/chef/dishes", {**NEW_DISH, **change})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"]
    assert not Dish.objects.exists()


def test_a_missing_allergen_declaration_is_refused(make_client, kitchen):
    payload = {k: v for k, v in NEW_DISH.items() if k != "allergens"}
    response = make_client(kitchen.chef).post("/api/v1/chef/dishes", payload)
    assert response.status_code == 400
    assert "allergens" in response.json()["fields"]
    assert not Dish.objects.exists()


def test_the_chef_lists_only_their_own_live_dishes(make_client, kitchen):
    mine = DishFactory(kitchen=kitchen, name="A mine")
    DishFactory(kitchen=kitchen, deleted=True)
    DishFactory(name="Someone else's")

    response = make_client(kitchen.chef).get("/api/v1/chef/dishes")

    assert response.status_code == 200
    assert [d["id"] for d in response.json()["results"]] == [str(mine.pk)]


def test_patch_changes_fields_and_today_s_stock(make_client, kitchen):
    dish = DishFactory(kitchen=kitchen)
    client = make_client(kitchen.chef)

    response = client.patch(
        f"/api/v1/chef/dishes/{dish.pk}", {"price_cents": 990, "portions_left": 3, "is_available": False}
    )

    assert response.status_code == 200
    assert response.json()["price_cents"] == 990
    assert response.json()["portions_left"] == 3
    assert response.json()["is_available"] is False
    assert response.json()["allergens"] == ["gluten", "milk"]
    dish.refresh_from_db()
    assert (dish.price_cents, dish.portions_left, dish.is_available) == (990, 3, False)


@pytest.mark.parametrize("change", [{"portions_left": -1}, {"allergens": None}, {"price_cents": 0}])
def test_patch_refuses_impossible_values(make_client, kitchen, change):
    dish = DishFactory(kitchen=kitchen)
    response = make_client(kitchen.chef).patch(f"/api/v1/chef/dishes/{dish.pk}", change)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    dish.refresh_from_db()
    assert (dish.portions_left, dish.allergens, dish.price_cents) == (10, ["gluten", "milk"], 1250)


def test_another_chef_s_dish_is_not_found(make_client, kitchen):
    other = DishFactory(price_cents=1000)
    client = make_client(kitchen.chef)

    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(f"/api/v1/chef/dishes/{other.pk}", {"price_cents": 1})
        assert response.status_code == 404, method
        assert response.json()["code"] == "not_found"
    other.refresh_from_db()
    assert other.price_cents == 1000
    assert other.deleted_at is None


def test_delete_takes_the_dish_off_everywhere_but_keeps_the_row(make_client, api, kitchen):
    dish = DishFactory(kitchen=kitchen)
    client = make_client(kitchen.chef)

    response = client.delete(f"/api/v1/chef/dishes/{dish.pk}")

    assert response.status_code == 204
    assert client.get(f"/api/v1/chef/dishes/{dish.pk}").status_code == 404
    assert client.patch(f"/api/v1/chef/dishes/{dish.pk}", {"price_cents": 5}).status_code == 404
    assert api.get(f"/api/v1/dishes/{dish.pk}").status_code == 404
    assert Dish.objects.filter(pk=dish.pk, deleted_at__isnull=False).exists()


def test_chef_dish_list_page_size_above_100_is_invalid(make_client, kitchen):
    response = make_client(kitchen.chef).get("/api/v1/chef/dishes?page_size=101")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize("dishes", [1, 30])
def test_the_chef_s_dish_list_takes_the_same_queries_whatever_its_length(
    make_client, kitchen, django_assert_num_queries, dishes
):
    DishFactory.create_batch(dishes, kitchen=kitchen)
    DishFactory(kitchen=KitchenFactory())  # another chef's dish is neither listed nor counted
    client = make_client(kitchen.chef)

    # the signed-in user, the count, the page
    with django_assert_num_queries(3):
        response = client.get("/api/v1/chef/dishes?page_size=100")

    assert response.status_code == 200
    assert response.json()["count"] == dishes
    assert len(response.json()["results"]) == dishes
