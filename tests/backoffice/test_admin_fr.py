"""The back office as a French home chef meets it: French words, euros typed and
read the French way, Paris time, form errors instead of database errors, allergens
by their full names, no choice a chef does not have, and forbidden pages that stay
admin pages. Staff keep what they need (the kitchen of a dish)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from apps.chefs.models import Kitchen
from apps.menus.models import Dish
from foodiefast.admin_fields import parse_euros
from tests.factories.accounts import DEFAULT_PASSWORD, UserFactory
from tests.factories.chefs import KitchenFactory
from tests.factories.menus import DishFactory

pytestmark = pytest.mark.django_db

FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9,en;q=0.5"}


def signed_in(user, **headers) -> Client:
    client = Client(HTTP_X_FORWARDED_PROTO="https", **headers)
    response = client.post(reverse("admin:login"), {"username": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, "login refused"
    return client


@pytest.fixture
def kitchen():
    return KitchenFactory(display_name="Chez Mireille", delivery_fee_cents=299, minimum_order_cents=1500)


@pytest.fixture
def chef(kitchen):
    return signed_in(kitchen.chef, **FRENCH)


def dish_form(**changes) -> dict:
    return {
        "name": "Blanquette de veau",
        "description": "",
        "price_cents": "16,50",
        "allergens": ["milk", "celery"],
        "portions_per_day": "8",
        "portions_left": "",
        "is_available": "on",
        **changes,
    }


def test_a_french_chef_reads_the_admin_in_french(chef, kitchen):
    DishFactory(kitchen=kitchen)
    index = chef.get(reverse("admin:index")).content.decode()
    dishes = chef.get(reverse("admin:menus_dish_changelist")).content.decode()

    assert "Cuisine FoodieFast" in index
    assert "Plats" in index and "Cuisines" in index and "Tableau des commandes" in index
    assert "Déconnexion" in index  # Django's own words, in French too
    assert "Ajouter plat" in dishes
    assert "Portions du jour" in dishes


def test_an_english_browser_reads_it_in_english(kitchen):
    client = signed_in(kitchen.chef, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    index = client.get(reverse("admin:index")).content.decode()
    assert "FoodieFast kitchen" in index and "Dishes" in index and "Order board" in index


def test_a_price_is_typed_and_read_in_euros_and_stored_in_cents(chef, kitchen):
    created = chef.post(reverse("admin:menus_dish_add"), dish_form())
    assert created.status_code == 302, created.content.decode()[:2000]
    dish = Dish.objects.get(name="Blanquette de veau")
    assert (dish.kitchen, dish.price_cents) == (kitchen, 1650)

    listing = chef.get(reverse("admin:menus_dish_changelist")).content.decode()
    page = chef.get(reverse("admin:menus_dish_change", args=[dish.pk])).content.decode()

    assert "16,50\u00a0€" in listing
    assert 'value="16,50"' in page and "€" in page
    assert "en euros TTC" in page  # what the price is, in French


@pytest.mark.parametrize(
    ("typed", "cents"),
    [("16,50", 1650), ("16.50", 1650), ("16,5 €", 1650), ("16", 1600), ("1 234,50", 123450), ("1,234.50", 123450)],
)
def test_euros_are_read_the_ways_people_type_them(typed, cents):
    assert parse_euros(typed) == cents


@pytest.mark.parametrize("typed", ["16,505", "seize", "16,50,1", ""])
def test_what_is_not_an_amount_in_euros_is_refused(typed):
    with pytest.raises(ValueError):
        parse_euros(typed)


def test_a_price_of_nothing_or_a_fraction_of_a_cent_is_a_form_error(chef):
    free = chef.post(reverse("admin:menus_dish_add"), dish_form(price_cents="0"))
    odd = chef.post(reverse("admin:menus_dish_add"), dish_form(price_cents="16,505"))

    assert free.status_code == odd.status_code == 200  # the form again
    assert "Le montant doit être d’au moins 0,01\u00a0€." in free.content.decode()  # noqa: RUF001
    assert "Saisissez un montant en euros, par exemple 16,50." in odd.content.decode()
    assert not Dish.objects.filter(name="Blanquette de veau").exists()


def test_kitchen_fees_and_radius_are_in_euros_and_km_with_the_comma(chef, kitchen):
    page = chef.get(reverse("admin:chefs_kitchen_change", args=[kitchen.pk])).content.decode()
    assert 'value="2,99"' in page and 'value="15,00"' in page  # delivery fee, minimum order
    assert "Rayon de livraison (km)" in page
    assert "Latitude de la cuisine, en degrés nord" in page  # what the coordinates are, and how to find them
    assert "clic droit" in page

    form = {
        "display_name": "Chez Mireille",
        "cuisine": "Lyonnaise",
        "bio": "",
        "address": kitchen.address,
        "lat": "48,8566",
        "lng": "2,3522",
        "delivery_radius_km": "2,5",
        "delivery_fee_cents": "3,50",
        "prep_minutes": "25",
        "minimum_order_cents": "12",
        "max_open_orders": "",
        "opening_hours-TOTAL_FORMS": "1",
        "opening_hours-INITIAL_FORMS": "0",
        "opening_hours-0-weekday": "0",
        "opening_hours-0-opens": "12:00",
        "opening_hours-0-closes": "14:00",
        "dishes-TOTAL_FORMS": "0",
        "dishes-INITIAL_FORMS": "0",
    }
    saved = chef.post(reverse("admin:chefs_kitchen_change", args=[kitchen.pk]), form)

    assert saved.status_code == 302, saved.content.decode()[:3000]
    kitchen.refresh_from_db()
    assert (kitchen.lat, kitchen.lng, kitchen.delivery_radius_km) == (48.8566, 2.3522, 2.5)
    assert (kitchen.delivery_fee_cents, kitchen.minimum_order_cents) == (350, 1200)


def test_opening_days_are_named_in_french(chef, kitchen):
    page = chef.get(reverse("admin:chefs_kitchen_change", args=[kitchen.pk])).content.decode()
    assert ">lundi</option>" in page.lower() and "heure de Paris" in page


def test_negative_stock_is_a_form_error_on_every_form(chef, kitchen):
    dish = DishFactory(kitchen=kitchen, name="Gratin dauphinois")
    on_the_page = chef.post(
        reverse("admin:menus_dish_change", args=[dish.pk]),
        dish_form(name=dish.name, portions_per_day="10", portions_left="-1"),
    )
    in_the_list = chef.post(
        reverse("admin:menus_dish_changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(dish.pk),
            "form-0-portions_left": "-3",
            "form-0-is_available": "on",
            "_save": "Enregistrer",
        },
    )

    for response in (on_the_page, in_the_list):
        page = response.content.decode()
        assert response.status_code == 200  # the form again, not a crash
        assert "Assurez-vous que cette valeur est supérieure ou égale à 0." in page
        assert "Constraint" not in page and "contrainte" not in page
    dish.refresh_from_db()
    assert dish.portions_left == 10


def test_allergens_are_named_in_full_with_what_each_covers(chef):
    page = chef.get(reverse("admin:menus_dish_add")).content.decode()

    assert 'type="checkbox" name="allergens" value="nuts"' in page
    assert "Fruits à coque (amandes, noisettes, noix" in page
    assert "Arachides (cacahuètes" in page and "pas les fruits à coque" in page
    assert "Céréales contenant du gluten (blé" in page
    assert page.count('name="allergens"') == 14


def test_a_chef_picks_no_kitchen_but_staff_do(chef, kitchen):
    staff = signed_in(UserFactory(staff=True, is_superuser=True), **FRENCH)
    dish = DishFactory(kitchen=kitchen)

    chef_add = chef.get(reverse("admin:menus_dish_add")).content.decode()
    chef_list = chef.get(reverse("admin:menus_dish_changelist")).content.decode()
    staff_add = staff.get(reverse("admin:menus_dish_add")).content.decode()
    staff_list = staff.get(reverse("admin:menus_dish_changelist")).content.decode()
    chef_kitchen = chef.get(reverse("admin:chefs_kitchen_change", args=[kitchen.pk])).content.decode()

    assert 'name="kitchen"' not in chef_add and "column-kitchen" not in chef_list
    assert '<select name="kitchen"' in staff_add and "column-kitchen" in staff_list
    assert dish.name in chef_list
    assert kitchen.chef.email not in chef_kitchen  # their own page does not name them


def test_a_forbidden_page_is_an_admin_page_in_french(chef):
    response = chef.get(reverse("admin:accounts_user_changelist"))
    page = response.content.decode()

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert "Accès refusé" in page and "Votre compte ne donne pas accès à cette page." in page
    assert 'id="site-name"' in page and "Cuisine FoodieFast" in page  # the admin's header
    assert reverse("admin:index") in page


def test_an_unknown_admin_address_is_an_admin_page(chef):
    response = chef.get("/admin/nothing-here/")
    assert response.status_code == 404
    assert "Il n’y a rien à cette adresse." in response.content.decode()  # noqa: RUF001


def test_the_api_keeps_json_errors():
    response = Client(HTTP_X_FORWARDED_PROTO="https").get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


@time_machine.travel(dt.datetime(2026, 7, 14, 10, 5, tzinfo=dt.UTC), tick=False)
def test_times_in_the_admin_are_paris_time(chef, kitchen):
    DishFactory(kitchen=kitchen, name="Clafoutis")
    listing = chef.get(reverse("admin:menus_dish_changelist")).content.decode()
    # 10:05 UTC is 12:05 in Paris in July; stored as UTC all the same.
    assert "12:05" in listing and "10:05" not in listing
    assert Dish.objects.get(name="Clafoutis").updated_at == dt.datetime(2026, 7, 14, 10, 5, tzinfo=dt.UTC)


def test_the_kitchen_list_shows_no_chef_column_to_a_chef(chef, kitchen):
    page = chef.get(reverse("admin:chefs_kitchen_changelist")).content.decode()
    assert "Chez Mireille" in page and "column-chef" not in page
    assert Kitchen.objects.count() == 1


def test_a_radius_of_nothing_is_a_form_error_not_a_constraint(chef, kitchen):
    form = {
        "display_name": kitchen.display_name,
        "cuisine": kitchen.cuisine,
        "address": kitchen.address,
        "lat": "48,86",
        "lng": "2,34",
        "delivery_radius_km": "0",
        "delivery_fee_cents": "2,99",
        "prep_minutes": "20",
        "minimum_order_cents": "0",
        "max_open_orders": "",
        "opening_hours-TOTAL_FORMS": "0",
        "opening_hours-INITIAL_FORMS": "0",
        "dishes-TOTAL_FORMS": "0",
        "dishes-INITIAL_FORMS": "0",
    }
    response = chef.post(reverse("admin:chefs_kitchen_change", args=[kitchen.pk]), form)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Assurez-vous que cette valeur est supérieure ou égale à 0" in page
    assert "Constraint" not in page and "contrainte" not in page
    kitchen.refresh_from_db()
    assert kitchen.delivery_radius_km == 5.0
