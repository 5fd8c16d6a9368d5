"""Browsing kitchens and dishes near a point: visibility, distance, every filter."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from foodiefast.localtime import local_zone
from tests.factories.chefs import PARIS, KitchenFactory, OpeningHoursFactory
from tests.factories.menus import DishFactory

pytestmark = pytest.mark.django_db

HERE = f"lat={PARIS[0]}&lng={PARIS[1]}"
KM_NORTH = 1 / 111.2  # degrees of latitude per km


def north(km: float) -> dict:
    return {"lat": PARIS[0] + km * KM_NORTH, "lng": PARIS[1]}


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


# --- kitchens -----------------------------------------------------------------


def test_kitchens_nearest_first_within_their_own_radius(api):
    far = KitchenFactory(**north(4), delivery_radius_km=5)
    near = KitchenFactory(**north(1), delivery_radius_km=2)
    KitchenFactory(**north(3), delivery_radius_km=2)  # too far for its own radius
    KitchenFactory(**north(40), delivery_radius_km=30)  # outside the widest radius

    response = api.get(f"/api/v1/chefs?{HERE}")

    assert ids(response) == [str(near.pk), str(far.pk)]
    first = response.json()["results"][0]
    assert first["distance_km"] == pytest.approx(1.0, abs=0.02)
    assert response.json()["results"][1]["distance_km"] == pytest.approx(4.0, abs=0.02)
    # 20 min prep + 1 km at 15 km/h = 4 min
    assert first["estimated_delivery_minutes"] == 24
    assert set(first) >= {
        "id",
        "display_name",
        "bio",
        "cuisine",
        "photo_url",
        "rating",
        "rating_count",
        "distance_km",
        "is_open",
        "delivery_fee_cents",
        "currency",
        "estimated_delivery_minutes",
    }


def test_paused_and_unapproved_kitchens_are_hidden(api):
    listed = KitchenFactory()
    paused = KitchenFactory(paused=True)
    unapproved = KitchenFactory(unapproved=True)
    for kitchen in (paused, unapproved):
        DishFactory(kitchen=kitchen)

    assert ids(api.get(f"/api/v1/chefs?{HERE}")) == [str(listed.pk)]
    assert ids(api.get(f"/api/v1/dishes?{HERE}")) == []
    for kitchen in (paused, unapproved):
        assert api.get(f"/api/v1/chefs/{kitchen.pk}").status_code == 404
        assert api.get(f"/api/v1/dishes/{kitchen.dishes.get().pk}").status_code == 404


# Monday 23 November 2026, 12:30 in Paris (UTC+1).
MONDAY_LUNCH = dt.datetime(2026, 11, 23, 12, 30, tzinfo=local_zone())
MONDAY_4PM = dt.datetime(2026, 11, 23, 16, 0, tzinfo=local_zone())


@time_machine.travel(MONDAY_LUNCH, tick=False)
def test_closed_kitchens_are_listed_closed_and_hidden_with_open_now(api):
    open_kitchen = KitchenFactory(**north(1))
    OpeningHoursFactory(kitchen=open_kitchen, weekday=0, opens_minute=12 * 60, closes_minute=14 * 60)
    closed = KitchenFactory(**north(2))
    OpeningHoursFactory(kitchen=closed, weekday=0, opens_minute=19 * 60, closes_minute=22 * 60)
    OpeningHoursFactory(kitchen=closed, weekday=1, opens_minute=12 * 60, closes_minute=14 * 60)

    everything = api.get(f"/api/v1/chefs?{HERE}").json()["results"]
    only_open = api.get(f"/api/v1/chefs?{HERE}&open_now=true")

    assert [(k["id"], k["is_open"]) for k in everything] == [(str(open_kitchen.pk), True), (str(closed.pk), False)]
    assert ids(only_open) == [str(open_kitchen.pk)]
    assert api.get(f"/api/v1/chefs/{closed.pk}").json()["is_open"] is False


@time_machine.travel(MONDAY_4PM, tick=False)
def test_between_services_a_kitchen_is_closed(api):
    kitchen = KitchenFactory()
    OpeningHoursFactory(kitchen=kitchen, weekday=0, opens_minute=12 * 60, closes_minute=14 * 60)
    assert ids(api.get(f"/api/v1/chefs?{HERE}&open_now=true")) == []


def test_kitchen_filters_cuisine_dietary_and_text(api):
    basque = KitchenFactory(cuisine="Basque", display_name="Chez Ana")
    vegan_place = KitchenFactory(cuisine="Lebanese", display_name="Beyrouth")
    DishFactory(kitchen=vegan_place, vegan=True)
    DishFactory(kitchen=basque, dietary_tags=("vegan",), is_available=False)  # unavailable: not counted

    assert ids(api.get(f"/api/v1/chefs?{HERE}&cuisine=basque")) == [str(basque.pk)]
    assert ids(api.get(f"/api/v1/chefs?{HERE}&dietary=vegan")) == [str(vegan_place.pk)]
    assert ids(api.get(f"/api/v1/chefs?{HERE}&q=ana")) == [str(basque.pk)]


def test_chef_detail_has_hours_and_today_s_dishes(api):
    kitchen = KitchenFactory(**north(2))
    OpeningHoursFactory(kitchen=kitchen, weekday=4, opens_minute=19 * 60, closes_minute=24 * 60)
    available = DishFactory(kitchen=kitchen, name="A")
    sold_out = DishFactory(kitchen=kitchen, name="B", sold_out=True)
    DishFactory(kitchen=kitchen, unavailable=True)
    DishFactory(kitchen=kitchen, deleted=True)

    without_point = api.get(f"/api/v1/chefs/{kitchen.pk}").json()
    with_point = api.get(f"/api/v1/chefs/{kitchen.pk}?{HERE}").json()

    assert without_point["opening_hours"] == [{"weekday": 4, "opens": "19:00", "closes": "24:00"}]
    assert [(d["id"], d["portions_left"]) for d in without_point["dishes"]] == [
        (str(available.pk), 10),
        (str(sold_out.pk), 0),
    ]
    assert without_point["distance_km"] is None
    assert with_point["distance_km"] == pytest.approx(2.0, abs=0.1)


# --- dishes --------------------------------------------------------------------


def test_dishes_of_nearer_kitchens_first_sold_out_included(api):
    far = KitchenFactory(**north(3))
    near = KitchenFactory(**north(1))
    far_dish = DishFactory(kitchen=far, name="A far")
    near_b = DishFactory(kitchen=near, name="B near", sold_out=True)
    near_a = DishFactory(kitchen=near, name="A near")
    DishFactory(kitchen=near, unavailable=True)
    DishFactory(kitchen=near, deleted=True)

    response = api.get(f"/api/v1/dishes?{HERE}")

    assert ids(response) == [str(near_a.pk), str(near_b.pk), str(far_dish.pk)]
    item = response.json()["results"][1]
    assert item["portions_left"] == 0
    assert item["chef"] == {"id": str(near.pk), "display_name": near.display_name}
    assert item["allergens"] == ["gluten", "milk"]
    assert item["currency"] == "EUR"
    assert item["is_available"] is True


def test_dish_filters(api):
    kitchen = KitchenFactory()
    other = KitchenFactory()
    tofu = DishFactory(kitchen=kitchen, name="Tofu curry", vegan=True, price_cents=1100)
    gratin = DishFactory(kitchen=kitchen, name="Gratin", allergens=("milk",), price_cents=900)
    salad = DishFactory(kitchen=other, name="Salad", allergens=(), description="Fresh herbs", price_cents=800)

    def listed(query: str) -> set[str]:
        return set(ids(api.get(f"/api/v1/dishes?{HERE}&{query}")))

    assert listed("exclude_allergens=milk") == {str(tofu.pk), str(salad.pk)}
    assert listed("exclude_allergens=milk,soybeans") == {str(salad.pk)}
    assert listed("exclude_allergens=Gluten, milk") == {str(tofu.pk), str(salad.pk)}
    assert listed("dietary=vegan") == {str(tofu.pk)}
    assert listed("dietary=vegan,vegetarian") == {str(tofu.pk)}
    assert listed("dietary=vegan,halal") == set()
    assert listed("max_price_cents=900") == {str(gratin.pk), str(salad.pk)}
    assert listed("q=HERBS") == {str(salad.pk)}
    assert listed("q=gratin") == {str(gratin.pk)}
    assert listed(f"chef={other.pk}") == {str(salad.pk)}


def test_dish_detail(api):
    unavailable = DishFactory(unavailable=True)
    response = api.get(f"/api/v1/dishes/{unavailable.pk}")
    assert response.status_code == 200
    assert response.json()["is_available"] is False
    assert api.get("/api/v1/dishes/00000000-0000-0000-0000-000000000000").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "lat"),
        ("lat=48.86", "lng"),
        ("lat=91&lng=2.3", "lat"),
        ("lat=48.8&lng=-181", "lng"),
        ("lat=nan&lng=2.3", "lat"),
        ("lat=north&lng=2.3", "lat"),
        (f"{HERE}&exclude_allergens=milk,pollen", "exclude_allergens"),
        (f"{HERE}&dietary=carnivore", "dietary"),
        (f"{HERE}&max_price_cents=cheap", "max_price_cents"),
        (f"{HERE}&chef=not-a-uuid", "chef"),
        (f"{HERE}&page_size=101", "page_size"),
        (f"{HERE}&page_size=0", "page_size"),
        (f"{HERE}&page=zero", "page"),
    ],
)
def test_bad_browse_queries_are_400_invalid(api, query, field):
    response = api.get(f"/api/v1/dishes?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["fields"]


@pytest.mark.parametrize(
    "query",
    ["", "lat=-90.5&lng=2", f"{HERE}&dietary=carnivore", f"{HERE}&page_size=101"],
)
def test_bad_chef_browse_queries_are_400_invalid(api, query):
    response = api.get(f"/api/v1/chefs?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_chef_detail_with_impossible_point_is_400(api):
    kitchen = KitchenFactory()
    response = api.get(f"/api/v1/chefs/{kitchen.pk}?lat=100&lng=2")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_pages_follow_on(api):
    kitchen = KitchenFactory()
    dishes = [DishFactory(kitchen=kitchen, name=f"Dish {i:02d}") for i in range(5)]

    first = api.get(f"/api/v1/dishes?{HERE}&page_size=2").json()
    second = api.get(first["next"]).json()
    last = api.get(second["next"]).json()

    assert first["count"] == 5
    assert first["previous"] is None
    assert [d["id"] for d in first["results"] + second["results"] + last["results"]] == [str(d.pk) for d in dishes]
    assert last["next"] is None
    assert api.get(f"/api/v1/dishes?{HERE}&page_size=2&page=4").status_code == 404


def test_pages_across_kitchens_keep_the_nearest_first_order(api):
    kitchens = [KitchenFactory(**north(km)) for km in (3, 1, 2)]  # created out of distance order
    near, middle, far = kitchens[1], kitchens[2], kitchens[0]
    expected = []
    for kitchen in (near, middle, far):
        expected += [str(DishFactory(kitchen=kitchen, name=f"{n}").pk) for n in "ABC"]
    DishFactory(kitchen=middle, name="D", allergens=("nuts",))  # filtered out below

    seen, url = [], f"/api/v1/dishes?{HERE}&page_size=4&exclude_allergens=nuts"
    while url:
        body = api.get(url).json()
        assert body["count"] == 9
        seen += [d["id"] for d in body["results"]]
        url = body["next"]

    assert seen == expected
