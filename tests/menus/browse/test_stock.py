"""Live stock laid over stored browse answers: the figure kept in Redis is always the
newest one (ordered by ``stock_seq``), against real PostgreSQL and Redis."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache
from django.db import connection

from apps.menus.browse.catalog import catalog_version
from apps.menus.browse.rules import stock_key
from apps.menus.browse.stock import stock_store
from apps.menus.selectors import stock_of
from apps.menus.services import dish_portions_reserve
from foodiefast.localtime import local_today
from tests.factories.menus import DishFactory


def left(dish) -> int:
    dish.refresh_from_db()
    return dish.portions_left


@pytest.mark.django_db(transaction=True)
def test_the_cached_figure_ends_equal_to_postgresql_after_concurrent_orders_and_reads():
    """Reservations writing through and readers filling from PostgreSQL (a moment
    passes between their read and their store) race each other in Redis; the figure
    kept is always the newest: a customer refreshing the menu never sees the stock
    jump back up, and it ends equal to PostgreSQL."""
    dish = DishFactory(portions_per_day=40)
    ids = [str(dish.pk)]
    version = catalog_version()
    start = threading.Barrier(28, timeout=30)
    orders_done = threading.Event()

    def reserve_one(n: int) -> None:
        try:
            start.wait()
            time.sleep(n * 0.005)  # orders spread over 100 ms, amid the readers' fills
            dish_portions_reserve(items=[(dish.pk, 1)])
        finally:
            connection.close()

    def fill_until_orders_are_done(_) -> None:
        try:
            start.wait()
            while not orders_done.is_set():
                read = stock_of(dish_ids=ids)
                time.sleep(random.uniform(0, 0.02))
                stock_store(stock=read, version=version)
        finally:
            connection.close()

    key = cache.make_key(stock_key(version, local_today(), ids[0]))
    seen: list[int] = []

    def watch() -> None:
        redis = cache.client.get_client()
        while not orders_done.is_set():
            raw = redis.get(key)
            if raw is not None:
                seen.append(int(raw.split(b":")[1]))

    with ThreadPoolExecutor(max_workers=29) as pool:
        watcher = pool.submit(watch)
        readers = [pool.submit(fill_until_orders_are_done, i) for i in range(8)]
        orders = [pool.submit(reserve_one, i) for i in range(20)]
        for job in orders:
            job.result(timeout=60)
        orders_done.set()
        for job in [*readers, watcher]:
            job.result(timeout=60)

    assert left(dish) == 20
    assert seen == sorted(seen)  # stock_seq as the customers saw it: never backwards
    assert cache.client.get_client().get(key) == b"20:20"
