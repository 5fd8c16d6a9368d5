"""Daily stock: reservations never oversell, releases and the daily reset."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from apps.menus.errors import DishUnavailable, SoldOut
from apps.menus.models import Dish
from apps.menus.services import dish_portions_release, dish_portions_reserve, dish_stock_reset_daily
from apps.menus.tasks import dish_stock_reset_daily_task
from foodiefast.localtime import local_zone
from tests.factories.menus import DishFactory


def left(dish) -> int:
    dish.refresh_from_db()
    return dish.portions_left


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_reservations_of_ten_portions_sell_exactly_ten():
    # given
    dish = DishFactory(portions_per_day=10)
    start = threading.Barrier(50, timeout=30)
    lowest_seen: list[int] = []

    def reserve_one() -> bool:
        try:
            start.wait()
            with transaction.atomic():
                dish_portions_reserve(items=[(dish.pk, 1)])
                lowest_seen.append(Dish.objects.get(pk=dish.pk).portions_left)
            return True
        except SoldOut as exc:
            assert exc.extra == {"dish_id": str(dish.pk), "portions_left": 0}
            return False
        finally:
            connection.close()

    # when
    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(lambda _: reserve_one(), range(50), timeout=60))

    # then
    assert outcomes.count(True) == 10
    assert left(dish) == 0
    assert min(lowest_seen) == 0


@pytest.mark.django_db
def test_a_reservation_of_several_dishes_is_all_or_nothing():
    plenty = DishFactory(portions_per_day=10)
    scarce = DishFactory(portions_per_day=2)

    with pytest.raises(SoldOut) as caught:
        dish_portions_reserve(items=[(plenty.pk, 4), (scarce.pk, 1), (scarce.pk, 2)])

    assert caught.value.status_code == 409
    assert caught.value.as_dict()["code"] == "sold_out"
    assert caught.value.extra == {"dish_id": str(scarce.pk), "portions_left": 2}
    assert (left(plenty), left(scarce)) == (10, 2)

    dish_portions_reserve(items=[(scarce.pk, 2), (plenty.pk, 4)])
    assert (left(plenty), left(scarce)) == (6, 0)


@pytest.mark.django_db
def test_an_unavailable_or_deleted_dish_cannot_be_reserved():
    for dish in (DishFactory(unavailable=True), DishFactory(deleted=True)):
        with pytest.raises(DishUnavailable):
            dish_portions_reserve(items=[(dish.pk, 1)])
        assert left(dish) == 10


@pytest.mark.django_db
def test_the_database_refuses_negative_stock():
    dish = DishFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Dish.objects.filter(pk=dish.pk).update(portions_left=-1)


# Local dates in Paris: a reservation at 23:50, the reset after midnight.
LATE = dt.datetime(2026, 11, 23, 23, 50, tzinfo=local_zone())
AFTER_MIDNIGHT = dt.datetime(2026, 11, 24, 0, 1, tzinfo=local_zone())
NEXT_NOON = dt.datetime(2026, 11, 24, 12, 0, tzinfo=local_zone())


@pytest.mark.django_db
def test_release_gives_back_today_s_portions_only():
    with time_machine.travel(LATE, tick=False):
        dish = DishFactory(portions_per_day=10)
        yesterday = dish_portions_reserve(items=[(dish.pk, 4)])
        today_order = dish_portions_reserve(items=[(dish.pk, 1)])
        dish_portions_release(items=[(dish.pk, 1)], stock_date=today_order)
        assert left(dish) == 6

    with time_machine.travel(NEXT_NOON, tick=False):
        dish_stock_reset_daily()
        dish_portions_reserve(items=[(dish.pk, 2)])
        dish_portions_release(items=[(dish.pk, 4)], stock_date=yesterday)  # an order of yesterday cancelled
        assert left(dish) == 8


@pytest.mark.django_db
def test_the_daily_reset_at_local_midnight_is_idempotent():
    with time_machine.travel(LATE, tick=False):
        sold = DishFactory(portions_per_day=10, sold_out=True)
        adjusted = DishFactory(portions_per_day=5, portions_left=2)
        assert dish_stock_reset_daily_task.delay().get() == 0  # still the same local day
        assert (left(sold), left(adjusted)) == (0, 2)

    with time_machine.travel(AFTER_MIDNIGHT, tick=False):
        assert dish_stock_reset_daily_task.delay().get() == 2
        assert (left(sold), left(adjusted)) == (10, 5)
        dish_portions_reserve(items=[(sold.pk, 3)])

        assert dish_stock_reset_daily_task.delay().get() == 0  # a second run the same day
        assert left(sold) == 7


@pytest.mark.django_db
def test_a_late_reset_does_not_leave_yesterday_s_stock_visible(api):
    with time_machine.travel(LATE, tick=False):
        dish = DishFactory(portions_per_day=10, sold_out=True)
    with time_machine.travel(AFTER_MIDNIGHT, tick=False):
        # the beat has not run yet: the new day's stock is shown and can be reserved
        assert api.get(f"/api/v1/dishes/{dish.pk}").json()["portions_left"] == 10
        dish_portions_reserve(items=[(dish.pk, 10)])
        assert left(dish) == 0
        assert dish_stock_reset_daily() == 0
        assert left(dish) == 0
