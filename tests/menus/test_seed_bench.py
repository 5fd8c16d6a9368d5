"""``seed_bench``: the bench data is idempotent."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.chefs.models import Kitchen
from apps.menus.models import Dish

pytestmark = pytest.mark.django_db


def test_seed_bench_fills_the_browse_around_the_point_and_is_idempotent(api):
    call_command("seed_bench", kitchens=6, dishes=4, lat=48.8566, lng=2.3522)
    call_command("seed_bench", kitchens=6, dishes=4, lat=48.8566, lng=2.3522)

    assert Dish.objects.count() == 24
    body = api.get("/api/v1/dishes?lat=48.8566&lng=2.3522&page_size=100").json()
    assert body["count"] == 24
    assert api.get("/api/v1/chefs?lat=48.8566&lng=2.3522&open_now=true").json()["count"] == 6

    call_command("seed_bench", kitchens=3, dishes=2, reset=True)
    assert (Kitchen.objects.count(), Dish.objects.count()) == (3, 6)
