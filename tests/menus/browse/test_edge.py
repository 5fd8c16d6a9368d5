"""The ASGI entry replays a stored browse answer exactly as Django gave it, with live
stock, and leaves to Django everything it cannot answer the same way (real Redis)."""

from __future__ import annotations

import json
import logging
import pickle
import time

import pytest
import time_machine
from django.core.cache import cache

from apps.chefs import services as chef_services
from apps.chefs.models import Kitchen
from apps.menus.browse.catalog import catalog_changed
from apps.menus.browse.rules import answer_key, stock_key
from apps.menus.browse.stock import stock_store
from apps.menus.models import Dish
from apps.menus.selectors import stock_of
from apps.menus.services import dish_portions_release, dish_portions_reserve
from foodiefast.localtime import local_today
from tests.factories.chefs import PARIS
from tests.factories.menus import DishFactory
from tests.menus.browse.asgi import QUERY, get, replay

pytestmark = pytest.mark.django_db

PER_RESPONSE = {"x-request-id", "content-length", "x-cache"}


def test_a_repeated_request_is_answered_as_django_answered_it(api):
    DishFactory.create_batch(3)
    url = f"/api/v1/dishes?{QUERY}"
    assert replay("/api/v1/dishes") is None  # nothing stored yet: Django answers

    first = get(api, url)
    status, headers, body = replay("/api/v1/dishes")

    assert status == 200
    assert json.loads(body) == first.json()
    assert int(headers["content-length"]) == len(body)
    assert headers["x-cache"] == "hit"
    assert headers["x-request-id"] != first["X-Request-ID"]
    django_headers = {k.lower(): v for k, v in first.items() if k.lower() not in PER_RESPONSE}
    assert {k: v for k, v in headers.items() if k not in PER_RESPONSE} == django_headers
    assert "strict-transport-security" in headers
    assert headers["content-type"] == "application/json"


def test_chef_list_and_chef_page_are_replayed_too(api):
    dish = DishFactory()
    kitchen_path = f"/api/v1/chefs/{dish.kitchen_id}"
    chefs, page = get(api, f"/api/v1/chefs?{QUERY}"), get(api, kitchen_path)

    assert json.loads(replay("/api/v1/chefs")[2]) == chefs.json()
    assert json.loads(replay(kitchen_path, "")[2]) == page.json()


def test_stock_is_live_in_replayed_answers(api, django_capture_on_commit_callbacks):
    dish = DishFactory(portions_per_day=10)
    get(api, f"/api/v1/dishes?{QUERY}")
    with django_capture_on_commit_callbacks(execute=True):
        stock_date = dish_portions_reserve(items=[(dish.pk, 3)])

    # The new figure was written through after commit: the very next replay has it.
    assert json.loads(replay("/api/v1/dishes")[2])["results"][0]["portions_left"] == 7

    with django_capture_on_commit_callbacks(execute=True):
        dish_portions_release(items=[(dish.pk, 3)], stock_date=stock_date)
    assert json.loads(replay("/api/v1/dishes")[2])["results"][0]["portions_left"] == 10


def test_after_a_menu_edit_one_request_rebuilds_while_the_others_get_the_old_answer(
    api, django_capture_on_commit_callbacks
):
    dish = DishFactory(price_cents=1000, portions_per_day=10)
    url = f"/api/v1/dishes?{QUERY}"
    get(api, url)
    with django_capture_on_commit_callbacks(execute=True):
        Dish.objects.filter(pk=dish.pk).update(price_cents=1200, portions_left=4)  # e.g. a bulk admin edit
        catalog_changed()

    claim = replay("/api/v1/dishes")  # the first request after the edit goes to Django, claiming the rebuild
    _, headers, body = replay("/api/v1/dishes")  # a request meanwhile: the answer of a moment ago
    rebuilt = get(api, url, HTTP_X_BROWSE_REFRESH=claim).json()["results"][0]
    _, after_headers, after = replay("/api/v1/dishes")

    assert isinstance(claim, str)
    assert headers["x-cache"] == "stale"
    assert json.loads(body)["results"][0]["price_cents"] == 1000
    assert (rebuilt["price_cents"], rebuilt["portions_left"]) == (1200, 4)
    assert after_headers["x-cache"] == "hit"
    assert (json.loads(after)["results"][0]["price_cents"], json.loads(after)["results"][0]["portions_left"]) == (
        1200,
        4,
    )


def test_an_answer_past_its_freshness_is_rebuilt_by_one_request(api, settings):
    dish = DishFactory(portions_per_day=10)
    url = f"/api/v1/chefs/{dish.kitchen_id}"
    get(api, url)
    later = time.time() + settings.BROWSE_CACHE_SECONDS + 1

    with time_machine.travel(later, tick=False):
        claim = replay(url, "", headers={"x-browse-refresh": "forged"})  # the client's own is dropped
        get(api, url, HTTP_X_BROWSE_REFRESH="guessed")  # not the claim: served the stale answer
        _, meanwhile, _ = replay(url, "")
        get(api, url, HTTP_X_BROWSE_REFRESH=claim)
        _, after, _ = replay(url, "")

    assert isinstance(claim, str)
    assert claim != "forged"
    assert meanwhile["x-cache"] == "stale"  # nothing rebuilt it but the claimant
    assert after["x-cache"] == "hit"


def test_without_the_entry_the_first_request_after_an_edit_rebuilds(api, django_capture_on_commit_callbacks):
    dish = DishFactory(price_cents=1000)
    url = f"/api/v1/dishes?{QUERY}"
    get(api, url)
    with django_capture_on_commit_callbacks(execute=True):
        Dish.objects.filter(pk=dish.pk).update(price_cents=1300)
        catalog_changed()

    assert get(api, url).json()["results"][0]["price_cents"] == 1300


@pytest.mark.parametrize(
    "request_",
    [
        {"method": "POST"},
        {"method": "HEAD"},
        {"headers": {"accept": "text/html"}},
        {"headers": {"host": "evil.example"}},
        {"headers": {"x-forwarded-proto": None}},  # plain HTTP: Django redirects it
        {"headers": {"x-forwarded-proto": "http"}},
        {"query": f"lng={PARIS[1]}&lat={PARIS[0]}"},  # another spelling: Django answers it once
    ],
    ids=["post", "head", "html", "other-host", "no-proxy-scheme", "http", "other-spelling"],
)
def test_what_django_would_answer_differently_is_left_to_django(api, request_):
    DishFactory()
    get(api, f"/api/v1/dishes?{QUERY}")
    assert replay("/api/v1/dishes") is not None

    assert replay("/api/v1/dishes", **request_) is None


def test_a_client_asking_for_json_explicitly_is_replayed(api):
    DishFactory()
    get(api, f"/api/v1/dishes?{QUERY}")
    assert replay("/api/v1/dishes", headers={"accept": "application/json; charset=utf-8"})[0] == 200
    assert replay("/api/v1/dishes", headers={"accept": "*/*"})[0] == 200


def test_the_request_id_is_echoed_and_the_request_logged(api, caplog):
    DishFactory()
    get(api, f"/api/v1/dishes?{QUERY}")

    with caplog.at_level(logging.INFO, logger="foodiefast.request"):
        _, headers, _ = replay("/api/v1/dishes", headers={"x-request-id": "router-abc.123"})

    assert headers["x-request-id"] == "router-abc.123"
    [line] = [r for r in caplog.records if r.name == "foodiefast.request"]
    assert (line.path, line.status, line.request_id) == ("/api/v1/dishes", 200, "router-abc.123")


def test_with_redis_unreachable_the_entry_passes_quickly(api, settings):
    DishFactory()
    get(api, f"/api/v1/dishes?{QUERY}")
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }

    started = time.monotonic()
    assert replay("/api/v1/dishes") is None
    assert time.monotonic() - started < 2


def test_a_figure_read_before_a_reservation_never_replaces_the_newer_one(api, django_capture_on_commit_callbacks):
    """A reader that read PostgreSQL just before a reservation committed may reach
    Redis after the reservation's write-through: the older figure is refused."""
    dish = DishFactory(portions_per_day=10)
    get(api, f"/api/v1/dishes?{QUERY}")
    read_before = stock_of(dish_ids=[dish.pk])  # (10, seq 0)
    with django_capture_on_commit_callbacks(execute=True):
        dish_portions_reserve(items=[(dish.pk, 4)])

    stock_store(stock=read_before, version=1)  # arrives late

    assert json.loads(replay("/api/v1/dishes")[2])["results"][0]["portions_left"] == 6
    assert cache.client.get_client().get(cache.make_key(stock_key(1, local_today(), str(dish.pk)))) == b"6:1"


def test_an_entry_of_another_shape_is_ignored_not_a_500(api):
    """E.g. written by code of another release under the same key: Django rebuilds it."""
    DishFactory()
    key = answer_key("dishes", scheme="https", host="testserver", path="/api/v1/dishes", query=QUERY.encode())
    cache.client.get_client().set(key, pickle.dumps((1, ("headers", ["ids"], [b"parts"]))))

    assert replay("/api/v1/dishes") is None
    assert get(api, f"/api/v1/dishes?{QUERY}").status_code == 200
    assert replay("/api/v1/dishes")[0] == 200


def test_a_rebuild_that_ends_in_an_error_releases_its_claim(api, django_capture_on_commit_callbacks):
    """A paused kitchen: the request that claimed the rebuild gets 404, and so does
    the next one, instead of the kitchen page of a moment ago."""
    dish = DishFactory()
    url = f"/api/v1/chefs/{dish.kitchen_id}"
    assert get(api, url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        Kitchen.objects.filter(pk=dish.kitchen_id).update(is_paused=True)
        chef_services.catalog_changed()  # announced by chefs, heard by the browse cache

    claim = replay(url, "")
    first = get(api, url, HTTP_X_BROWSE_REFRESH=claim)

    assert first.status_code == 404
    assert get(api, url).status_code == 404  # claims again and rebuilds: not the stale page
    assert isinstance(replay(url, ""), str)  # the entry too claims again: it does not serve the stale page
