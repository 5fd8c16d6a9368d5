"""Seeding commands: the bench data and the demo data are idempotent."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.accounts.models import User
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


def test_seed_demo_creates_kitchens_around_paris_idempotently(api, capsys):
    call_command("seed_demo")
    first = (Kitchen.objects.count(), Dish.objects.count(), User.objects.count())
    call_command("seed_demo")
    output = capsys.readouterr().out

    assert (Kitchen.objects.count(), Dish.objects.count(), User.objects.count()) == first
    assert Kitchen.objects.filter(is_approved=True).count() >= 12
    assert Kitchen.objects.filter(is_approved=False).count() == 1
    assert Kitchen.objects.get(chef__email="chef@foodiefast.demo").is_approved is True
    assert not Dish.objects.filter(allergen_mask__isnull=True).exists()
    assert "chef@foodiefast.demo" in output
    # a customer at the Hôtel de Ville sees several kitchens
    assert api.get("/api/v1/chefs?lat=48.8566&lng=2.3522").json()["count"] >= 8
