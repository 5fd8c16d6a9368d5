"""Browsing under backing-service faults: a Redis server of the test's own frozen
with SIGSTOP (connections accepted, nothing answered), and rebuilds whose database
read fails as it does when PostgreSQL cannot be reached."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.db import OperationalError, connection

from apps.chefs import selectors as chef_selectors
from apps.chefs.models import Kitchen
from apps.menus import selectors
from apps.menus.browse.catalog import catalog_changed, catalog_version
from apps.menus.browse.stock import portions_cached, portions_live, stock_store
from apps.menus.models import Dish
from foodiefast.localtime import local_today
from tests.conftest import Client
from tests.factories.menus import DishFactory
from tests.menus.browse.asgi import QUERY, get, replay

pytestmark = pytest.mark.django_db

# The contract's bound for a frozen Redis is "quickly"; the clients' timeout is 0.5 s.
PASSES_WITHIN = 2.0


def test_with_redis_frozen_the_entry_passes_to_django_quickly_and_replays_again_once_it_resumes(api, own_redis):
    DishFactory(portions_per_day=6)
    url = f"/api/v1/dishes?{QUERY}"
    first = get(api, url)
    assert replay("/api/v1/dishes")[1]["x-cache"] == "hit"

    own_redis.freeze()
    try:
        started = time.monotonic()
        passed = replay("/api/v1/dishes")
        waited = time.monotonic() - started
        from_postgresql = get(api, url)
    finally:
        own_redis.thaw()

    assert passed is None  # left to Django
    assert waited < PASSES_WITHIN
    assert from_postgresql.status_code == 200
    assert from_postgresql.json() == first.json()

    deadline = time.monotonic() + 10
    while (again := replay("/api/v1/dishes")) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert again[1]["x-cache"] == "hit"  # no restart needed
    assert json.loads(again[2]) == first.json()


def test_with_redis_frozen_live_stock_comes_from_postgresql_without_waiting_long(own_redis):
    dish = DishFactory(portions_per_day=9)
    ids, version, today = [str(dish.pk)], catalog_version(), local_today()
    stock_store(stock={ids[0]: (9, 0)}, version=version)
    Dish.objects.filter(pk=dish.pk).update(portions_left=4)  # a change Redis has not seen
    assert portions_cached(dish_ids=ids, version=version, day=today) == {ids[0]: 9}

    own_redis.freeze()
    try:
        started = time.monotonic()
        live = portions_live(dish_ids=ids, version=version)
        waited = time.monotonic() - started
    finally:
        own_redis.thaw()

    assert live == {ids[0]: 4}
    assert waited < PASSES_WITHIN


def _unreachable(*args, **kwargs):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')


@pytest.mark.parametrize(
    ("path", "query", "module", "selector"),
    [
        ("/api/v1/dishes", QUERY, selectors, "dish_page_near"),
        ("/api/v1/chefs", QUERY, chef_selectors, "kitchens_near"),
        ("/api/v1/chefs/{kitchen}", "", selectors, "kitchen_page_public"),
    ],
    ids=["dishes", "chefs", "chef"],
)
def test_a_rebuild_that_cannot_reach_the_database_serves_the_stale_copy_and_lets_go_of_its_claim(
    api, monkeypatch, path, query, module, selector, django_capture_on_commit_callbacks
):
    dish = DishFactory(price_cents=1000, portions_per_day=10)
    path = path.format(kitchen=dish.kitchen_id)
    url = f"{path}?{query}"
    first = get(api, url)
    with django_capture_on_commit_callbacks(execute=True):
        Dish.objects.filter(pk=dish.pk).update(price_cents=1200)  # a bulk edit: shows in dishes, a chef's page
        Kitchen.objects.filter(pk=dish.kitchen_id).update(display_name="Chez Nous")  # in chefs, a chef's page
        catalog_changed()

    monkeypatch.setattr(module, selector, _unreachable)
    claim = replay(path, query)  # the entry claims the rebuild and passes to Django
    failed_rebuild = get(api, url, HTTP_X_BROWSE_REFRESH=claim)
    monkeypatch.undo()
    after = get(api, url)

    assert isinstance(claim, str)
    assert failed_rebuild.status_code == 200
    assert failed_rebuild["X-Cache"] == "stale"
    assert failed_rebuild.json() == first.json()
    # The claim was let go at once: the next request rebuilt (it did not get the
    # stale copy as one waiting for another's rebuild would).
    assert "X-Cache" not in after  # built now
    assert after.json() != first.json()


def test_a_rebuild_that_cannot_reach_the_database_serves_the_stale_copy_past_its_freshness(api, monkeypatch, settings):
    dish = DishFactory(portions_per_day=10)
    url = f"/api/v1/chefs/{dish.kitchen_id}"
    first = get(api, url)
    monkeypatch.setattr(selectors, "kitchen_page_public", _unreachable)

    with time_machine.travel(time.time() + settings.BROWSE_CACHE_SECONDS + 1, tick=False):
        stale = get(api, url)

    assert (stale.status_code, stale["X-Cache"]) == (200, "stale")
    assert stale.json() == first.json()


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_for_a_stale_answer_send_one_to_the_database(monkeypatch, settings):
    DishFactory.create_batch(3)
    url = f"/api/v1/dishes?{QUERY}"
    assert "X-Cache" not in Client().get(url)  # built, and stored
    builds: list[int] = []
    real = selectors.dish_page_near

    def slow_build(**kwargs):
        builds.append(1)
        time.sleep(1)  # long enough for every other request to arrive meanwhile
        return real(**kwargs)

    monkeypatch.setattr(selectors, "dish_page_near", slow_build)
    start = threading.Barrier(8, timeout=30)

    def browse(_) -> tuple[int, str]:
        try:
            start.wait()
            response = Client().get(url)
            return response.status_code, response.headers.get("X-Cache", "built")
        finally:
            connection.close()

    later = time.time() + settings.BROWSE_CACHE_SECONDS + 1
    with time_machine.travel(later, tick=True), ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(browse, range(8), timeout=60))

    assert builds == [1]
    assert sorted(answers) == [(200, "built")] + [(200, "stale")] * 7
