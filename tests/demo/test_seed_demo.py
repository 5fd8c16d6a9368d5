"""``seed_demo``: the demo logins and kitchens, written through the apps' services."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.accounts.events import UserRegistered
from apps.accounts.models import User
from apps.chefs.models import Kitchen
from apps.demo.services import demo_data
from apps.menus.models import ALLERGENS, Dish
from foodiefast.events import add_local_listener

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_kitchens_around_paris_idempotently(api):
    call_command("seed_demo")
    first = (Kitchen.objects.count(), Dish.objects.count(), User.objects.count())
    call_command("seed_demo")

    assert (Kitchen.objects.count(), Dish.objects.count(), User.objects.count()) == first
    assert first == (13, 37, 16)
    assert Kitchen.objects.filter(is_approved=True).count() == 12
    assert list(Kitchen.objects.filter(is_approved=False).values_list("display_name", flat=True)) == ["Kimchi House"]
    assert Kitchen.objects.get(chef__email="chef@foodiefast.demo").is_approved is True
    # a customer at the Hôtel de Ville sees several kitchens
    assert api.get("/api/v1/chefs?lat=48.8566&lng=2.3522").json()["count"] >= 8


def test_seed_demo_prints_every_demo_login_and_they_sign_in(api, capsys):
    call_command("seed_demo")
    output = capsys.readouterr().out

    assert "Demo logins (role, email, password):" in output
    for role, email in [
        ("customer", "customer@foodiefast.demo"),
        ("courier", "courier@foodiefast.demo"),
        ("chef", "chef@foodiefast.demo"),
        ("staff (admin)", "admin@foodiefast.demo"),
        ("chef (waiting)", "jisoo@foodiefast.demo"),
    ]:
        assert f"  {role:<14} {email:<28} foodiefast-demo" in output
    response = api.post("/api/v1/auth/token", {"email": "customer@foodiefast.demo", "password": "foodiefast-demo"})
    assert response.status_code == 200
    assert User.objects.get(email="admin@foodiefast.demo").is_staff is True


def test_every_demo_dish_declares_its_allergens_and_some_declare_none():
    declared = {dish["name"]: dish["allergens"] for kitchen in demo_data()["kitchens"] for dish in kitchen["dishes"]}
    call_command("seed_demo")

    assert all(isinstance(allergens, list) for allergens in declared.values())  # the key is never left out
    stored = {dish.name: dish.allergens for dish in Dish.objects.all()}
    assert stored == {name: sorted(allergens, key=ALLERGENS.index) for name, allergens in declared.items()}
    assert any(allergens == [] for allergens in stored.values())  # "none of the 14" is declared, not assumed


def test_demo_accounts_are_announced_like_any_registration(django_capture_on_commit_callbacks):
    announced = []
    remove = add_local_listener(announced.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            call_command("seed_demo")
    finally:
        remove()

    registered = [event for event in announced if isinstance(event, UserRegistered)]
    assert len(registered) == User.objects.count() == 16
    assert sum(event.role == "chef" for event in registered) == 13
