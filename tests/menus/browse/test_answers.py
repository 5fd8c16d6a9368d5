"""Browse answers come from the cache: edits invalidate them, stock is always live,
and the number of queries does not grow with the number of dishes."""

from __future__ import annotations

import pytest

from apps.menus.models import Dish
from apps.menus.services import dish_portions_reserve
from tests.factories.chefs import PARIS, KitchenFactory, OpeningHoursFactory
from tests.factories.menus import DishFactory

pytestmark = pytest.mark.django_db

HERE = f"lat={PARIS[0]}&lng={PARIS[1]}"


def seed(dish_count: int, kitchens: int = 5) -> list:
    places = [KitchenFactory(lat=PARIS[0] + i * 0.002, lng=PARIS[1]) for i in range(kitchens)]
    for kitchen in places:
        OpeningHoursFactory(kitchen=kitchen)
    DishFactory.create_batch(dish_count, kitchen=__import__("factory").Iterator(places), dietary_tags=("vegan",))
    return places


@pytest.mark.parametrize("dish_count", [10, 500])
def test_dish_list_queries_do_not_grow_with_the_menu(api, django_assert_num_queries, dish_count):
    seed(dish_count)
    url = f"/api/v1/dishes?{HERE}&page_size=100&exclude_allergens=nuts&dietary=vegan"

    with django_assert_num_queries(3):  # kitchens near, dishes per kitchen, the page
        uncached = api.get(url)
    with django_assert_num_queries(0):  # the answer and its stock both from Redis
        cached = api.get(url)

    assert uncached.json() == cached.json()
    assert len(cached.json()["results"]) == min(dish_count, 100)


@pytest.mark.parametrize("dish_count", [10, 500])
def test_chef_list_queries_do_not_grow_with_the_menu(api, django_assert_num_queries, dish_count):
    seed(dish_count)
    url = f"/api/v1/chefs?{HERE}&dietary=vegan"

    with django_assert_num_queries(2):  # count, page (is_open and dietary as subqueries)
        uncached = api.get(url)
    with django_assert_num_queries(0):
        cached = api.get(url)

    assert uncached.json() == cached.json()
    assert len(cached.json()["results"]) == 5


@pytest.mark.parametrize("dish_count", [10, 500])
def test_chef_detail_queries_do_not_grow_with_the_menu(api, django_assert_num_queries, dish_count):
    kitchen = seed(dish_count, kitchens=1)[0]
    url = f"/api/v1/chefs/{kitchen.pk}?{HERE}"

    with django_assert_num_queries(3):  # kitchen, opening hours, dishes
        uncached = api.get(url)
    with django_assert_num_queries(0):  # the answer and its stock both from Redis
        cached = api.get(url)

    assert uncached.json() == cached.json()
    assert len(cached.json()["dishes"]) == dish_count


@pytest.mark.parametrize("dish_count", [10, 500])
def test_dish_detail_is_one_query(api, django_assert_num_queries, dish_count):
    seed(dish_count, kitchens=1)
    dish = Dish.objects.first()
    with django_assert_num_queries(1):
        assert api.get(f"/api/v1/dishes/{dish.pk}").status_code == 200


def test_a_dish_edit_shows_on_the_next_get(api, make_client, django_capture_on_commit_callbacks):
    dish = DishFactory(price_cents=1000)
    url = f"/api/v1/dishes?{HERE}"
    assert api.get(url).json()["results"][0]["price_cents"] == 1000  # now cached

    with django_capture_on_commit_callbacks(execute=True):
        response = make_client(dish.kitchen.chef).patch(
            f"/api/v1/chef/dishes/{dish.pk}", {"price_cents": 1200, "name": "Cassoulet"}
        )
    assert response.status_code == 200

    item = api.get(url).json()["results"][0]
    assert (item["price_cents"], item["name"]) == (1200, "Cassoulet")


def test_a_new_unavailable_or_deleted_dish_shows_on_the_next_get(api, make_client, django_capture_on_commit_callbacks):
    dish = DishFactory()
    chef = make_client(dish.kitchen.chef)
    url = f"/api/v1/dishes?{HERE}"
    assert len(api.get(url).json()["results"]) == 1

    with django_capture_on_commit_callbacks(execute=True):
        chef.post(
            "/api/v1/chef/dishes",
            {"name": "Tarte", "price_cents": 500, "allergens": ["eggs"], "portions_per_day": 4},
        )
    assert len(api.get(url).json()["results"]) == 2

    with django_capture_on_commit_callbacks(execute=True):
        chef.patch(f"/api/v1/chef/dishes/{dish.pk}", {"is_available": False})
    assert [d["name"] for d in api.get(url).json()["results"]] == ["Tarte"]

    tarte = api.get(url).json()["results"][0]["id"]
    with django_capture_on_commit_callbacks(execute=True):
        chef.delete(f"/api/v1/chef/dishes/{tarte}")
    assert api.get(url).json()["results"] == []


def test_a_kitchen_change_shows_on_the_next_get(api, make_client, django_capture_on_commit_callbacks):
    kitchen = KitchenFactory()
    DishFactory(kitchen=kitchen)
    assert len(api.get(f"/api/v1/chefs?{HERE}").json()["results"]) == 1
    assert len(api.get(f"/api/v1/dishes?{HERE}").json()["results"]) == 1

    with django_capture_on_commit_callbacks(execute=True):
        make_client(kitchen.chef).patch("/api/v1/chef/profile", {"is_paused": True})

    assert api.get(f"/api/v1/chefs?{HERE}").json()["results"] == []
    assert api.get(f"/api/v1/dishes?{HERE}").json()["results"] == []
    assert api.get(f"/api/v1/chefs/{kitchen.pk}").status_code == 404


def test_opening_hours_change_shows_on_the_next_get(api, make_client, django_capture_on_commit_callbacks):
    kitchen = KitchenFactory()
    assert api.get(f"/api/v1/chefs/{kitchen.pk}").json()["opening_hours"] == []

    with django_capture_on_commit_callbacks(execute=True):
        make_client(kitchen.chef).put(
            "/api/v1/chef/opening-hours", [{"weekday": 1, "opens": "11:30", "closes": "15:00"}]
        )

    assert api.get(f"/api/v1/chefs/{kitchen.pk}").json()["opening_hours"] == [
        {"weekday": 1, "opens": "11:30", "closes": "15:00"}
    ]


def test_stock_changes_show_live_without_invalidating(
    api, make_client, django_assert_num_queries, django_capture_on_commit_callbacks
):
    dish = DishFactory(portions_per_day=10)
    url = f"/api/v1/dishes?{HERE}"
    detail = f"/api/v1/chefs/{dish.kitchen_id}"
    api.get(url)
    api.get(detail)

    with django_capture_on_commit_callbacks(execute=True):
        dish_portions_reserve(items=[(dish.pk, 3)])
    with django_assert_num_queries(0):  # still the cached menu; the new figure was written through
        assert api.get(url).json()["results"][0]["portions_left"] == 7
    with django_assert_num_queries(0):
        assert api.get(detail).json()["dishes"][0]["portions_left"] == 7

    with django_capture_on_commit_callbacks(execute=True):
        make_client(dish.kitchen.chef).patch(f"/api/v1/chef/dishes/{dish.pk}", {"portions_left": 0})
    with django_assert_num_queries(0):
        assert api.get(url).json()["results"][0]["portions_left"] == 0


def test_nearby_points_share_an_answer_with_links_right_for_both(api, django_assert_num_queries):
    kitchen = KitchenFactory()
    DishFactory.create_batch(3, kitchen=kitchen)
    first = api.get(f"/api/v1/dishes?lat={PARIS[0] + 0.0001}&lng={PARIS[1]}&page_size=2").json()

    with django_assert_num_queries(0):  # the first one's payload, its stock from Redis
        second = api.get(f"/api/v1/dishes?lat={PARIS[0] - 0.0001}&lng={PARIS[1]}&page_size=2").json()

    assert first == second
    assert f"lat={PARIS[0]}" in second["next"]


def test_browsing_works_from_postgresql_when_redis_is_down(api, settings):
    dish = DishFactory(portions_per_day=7)
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {**settings.CACHES["default"]["OPTIONS"], "SOCKET_CONNECT_TIMEOUT": 0.1},
        }
    }

    from django.core.cache import cache

    cache.set("probe", 1)
    assert cache.get("probe") is None  # the cache really is unreachable

    dishes = api.get(f"/api/v1/dishes?{HERE}")
    chef = api.get(f"/api/v1/chefs/{dish.kitchen_id}")

    assert dishes.status_code == 200
    assert [(d["id"], d["portions_left"]) for d in dishes.json()["results"]] == [(str(dish.pk), 7)]
    assert chef.status_code == 200
