"""The admin: chefs log in by role and see only their own kitchen and dishes; staff
see everything and approve kitchens."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.chefs.models import Kitchen, OpeningHours
from apps.menus.models import Dish
from tests.factories.accounts import DEFAULT_PASSWORD, UserFactory
from tests.factories.chefs import KitchenFactory, OpeningHoursFactory
from tests.factories.menus import DishFactory

pytestmark = pytest.mark.django_db


def browser() -> Client:
    return Client(HTTP_X_FORWARDED_PROTO="https")


def logged_in(user) -> Client:
    client = browser()
    response = client.post(reverse("admin:login"), {"username": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, "login refused"
    return client


@pytest.fixture
def chef_a():
    kitchen = KitchenFactory(display_name="Chez Alice")
    DishFactory(kitchen=kitchen, name="Alice soup")
    OpeningHoursFactory(kitchen=kitchen)
    return kitchen


@pytest.fixture
def chef_b():
    kitchen = KitchenFactory(display_name="Bob's Grill")
    DishFactory(kitchen=kitchen, name="Bob burger")
    return kitchen


def test_a_chef_logs_into_the_admin_by_role_without_permissions(chef_a):
    assert not chef_a.chef.is_staff
    assert not chef_a.chef.user_permissions.exists()

    client = logged_in(chef_a.chef)
    index = client.get(reverse("admin:index"))

    assert index.status_code == 200
    page = index.content.decode()
    assert "Kitchens" in page
    assert "Dishes" in page
    assert "Users" not in page


@pytest.mark.parametrize("role", ["customer", "courier"])
def test_other_roles_cannot_log_into_the_admin(role):
    user = UserFactory(role=role)
    client = browser()
    response = client.post(reverse("admin:login"), {"username": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302  # to the login page


def test_the_users_and_payments_admin_stay_staff_only(chef_a):
    client = logged_in(chef_a.chef)
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    assert client.get(reverse("admin:accounts_user_change", args=[chef_a.chef.pk])).status_code == 403
    assert client.get(reverse("admin:payments_payment_changelist")).status_code == 403


def test_a_chef_lists_only_their_own_kitchen_and_dishes(chef_a, chef_b, django_assert_max_num_queries):
    client = logged_in(chef_a.chef)

    kitchens = client.get(reverse("admin:chefs_kitchen_changelist")).content.decode()
    dishes = client.get(reverse("admin:menus_dish_changelist")).content.decode()
    searched = client.get(reverse("admin:menus_dish_changelist") + "?q=burger").content.decode()

    assert "Chez Alice" in kitchens
    assert "Bob&#x27;s Grill" not in kitchens and "Bob's Grill" not in kitchens
    assert "Alice soup" in dishes
    assert "Bob burger" not in dishes
    assert "Bob burger" not in searched


def test_a_chef_cannot_open_another_chef_s_objects_by_url(chef_a, chef_b):
    client = logged_in(chef_a.chef)
    other_dish = chef_b.dishes.get()
    urls = [
        reverse("admin:chefs_kitchen_change", args=[chef_b.pk]),
        reverse("admin:menus_dish_change", args=[other_dish.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code in (302, 404), url
        if response.status_code == 302:
            assert response.url == reverse("admin:index")

    response = client.post(
        reverse("admin:menus_dish_change", args=[other_dish.pk]),
        {"name": "Hacked", "price_cents": 1, "portions_per_day": 1, "kitchen": chef_b.pk, "contains_no_allergen": "on"},
    )
    other_dish.refresh_from_db()
    assert other_dish.name == "Bob burger"


def test_a_chef_cannot_put_a_dish_in_another_kitchen(chef_a, chef_b):
    client = logged_in(chef_a.chef)
    form = {
        "name": "Sneaky",
        "price_cents": 900,
        "portions_per_day": 5,
        "allergens": ["eggs"],
        "is_available": "on",
        "kitchen": chef_b.pk,
    }
    response = client.post(reverse("admin:menus_dish_add"), form)
    assert response.status_code == 200  # the form again: not a valid choice
    assert not Dish.objects.filter(name="Sneaky").exists()

    response = client.post(reverse("admin:menus_dish_add"), {**form, "kitchen": chef_a.pk})
    assert response.status_code == 302
    dish = Dish.objects.get(name="Sneaky")
    assert (dish.kitchen, dish.allergens, dish.portions_left) == (chef_a, ["eggs"], 5)


def test_the_admin_requires_an_allergen_declaration(chef_a):
    client = logged_in(chef_a.chef)
    form = {"name": "Mystery", "price_cents": 900, "portions_per_day": 5, "kitchen": chef_a.pk}

    refused = client.post(reverse("admin:menus_dish_add"), form)
    accepted = client.post(reverse("admin:menus_dish_add"), {**form, "contains_no_allergen": "on"})

    assert refused.status_code == 200
    assert accepted.status_code == 302
    assert Dish.objects.get(name="Mystery").allergens == []


def test_a_chef_toggles_availability_and_sets_portions_from_the_list(chef_a, api, django_capture_on_commit_callbacks):
    dish = chef_a.dishes.get()
    client = logged_in(chef_a.chef)
    assert api.get(f"/api/v1/chefs/{chef_a.pk}").json()["dishes"][0]["id"] == str(dish.pk)  # cached

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:menus_dish_changelist"),
            {
                "form-TOTAL_FORMS": "1",
                "form-INITIAL_FORMS": "1",
                "form-0-id": str(dish.pk),
                "form-0-portions_left": "3",
                "_save": "Save",
            },
        )

    assert response.status_code == 302
    dish.refresh_from_db()
    assert (dish.portions_left, dish.is_available) == (3, False)
    assert api.get(f"/api/v1/chefs/{chef_a.pk}").json()["dishes"] == []


def test_a_chef_edits_their_kitchen_but_not_its_approval(chef_a):
    client = logged_in(chef_a.chef)
    Kitchen.objects.filter(pk=chef_a.pk).update(is_approved=False)
    url = reverse("admin:chefs_kitchen_change", args=[chef_a.pk])
    hours = chef_a.opening_hours.get()
    form = {
        "display_name": "Chez Alice et fils",
        "cuisine": "French",
        "bio": "",
        "photo_url": "",
        "address": "2 rue X",
        "lat": "48.85",
        "lng": "2.34",
        "delivery_radius_km": "4",
        "delivery_fee_cents": "300",
        "prep_minutes": "25",
        "is_approved": "on",
        "opening_hours-TOTAL_FORMS": "1",
        "opening_hours-INITIAL_FORMS": "1",
        "opening_hours-0-id": str(hours.pk),
        "opening_hours-0-kitchen": str(chef_a.pk),
        "opening_hours-0-weekday": "2",
        "opening_hours-0-opens": "18:30",
        "opening_hours-0-closes": "24:00",
        "dishes-TOTAL_FORMS": "0",
        "dishes-INITIAL_FORMS": "0",
    }

    response = client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:3000]
    chef_a.refresh_from_db()
    assert chef_a.display_name == "Chez Alice et fils"
    assert chef_a.is_approved is False
    hours.refresh_from_db()
    assert (hours.weekday, hours.opens_minute, hours.closes_minute) == (2, 18 * 60 + 30, 24 * 60)
    assert OpeningHours.objects.filter(kitchen=chef_a).count() == 1


def test_an_approved_kitchen_keeps_its_location_and_slots_do_not_overlap(chef_a):
    client = logged_in(chef_a.chef)
    url = reverse("admin:chefs_kitchen_change", args=[chef_a.pk])
    hours = chef_a.opening_hours.get()
    form = {
        "display_name": "Chez Alice",
        "cuisine": "French",
        "address": "2 rue X",
        "lat": "",
        "lng": "",
        "delivery_radius_km": "4",
        "delivery_fee_cents": "300",
        "prep_minutes": "25",
        "opening_hours-TOTAL_FORMS": "1",
        "opening_hours-INITIAL_FORMS": "1",
        "opening_hours-0-id": str(hours.pk),
        "opening_hours-0-kitchen": str(chef_a.pk),
        "opening_hours-0-weekday": "0",
        "opening_hours-0-opens": "12:00",
        "opening_hours-0-closes": "14:30",
        "dishes-TOTAL_FORMS": "0",
        "dishes-INITIAL_FORMS": "0",
    }

    no_location = client.post(url, form)
    overlapping = client.post(
        url,
        {
            **form,
            "lat": "48.85",
            "lng": "2.34",
            "opening_hours-TOTAL_FORMS": "2",
            "opening_hours-1-kitchen": str(chef_a.pk),
            "opening_hours-1-weekday": "0",
            "opening_hours-1-opens": "14:00",
            "opening_hours-1-closes": "15:00",
        },
    )

    assert no_location.status_code == 200  # the form again, with the error
    assert overlapping.status_code == 200
    chef_a.refresh_from_db()
    assert chef_a.lat is not None
    assert chef_a.opening_hours.count() == 1


def test_chefs_have_no_approve_action(chef_a):
    Kitchen.objects.filter(pk=chef_a.pk).update(is_approved=False)
    client = logged_in(chef_a.chef)
    response = client.post(
        reverse("admin:chefs_kitchen_changelist"), {"action": "approve", "_selected_action": [str(chef_a.pk)]}
    )
    assert response.status_code in (200, 302)
    chef_a.refresh_from_db()
    assert chef_a.is_approved is False


def test_staff_see_every_kitchen_and_approve_with_the_action(chef_a, chef_b, django_assert_max_num_queries):
    staff = UserFactory(staff=True)
    waiting = KitchenFactory(unapproved=True, display_name="Waiting room")
    no_location = KitchenFactory(incomplete=True, display_name="Nowhere")
    client = logged_in(staff)

    page = client.get(reverse("admin:chefs_kitchen_changelist")).content.decode()
    response = client.post(
        reverse("admin:chefs_kitchen_changelist"),
        {"action": "approve", "_selected_action": [str(waiting.pk), str(no_location.pk)]},
        follow=True,
    )

    assert all(name in page for name in ("Chez Alice", "Bob&#x27;s Grill", "Waiting room"))
    waiting.refresh_from_db()
    no_location.refresh_from_db()
    assert waiting.is_approved is True
    assert waiting.approved_by == staff
    assert no_location.is_approved is False
    assert "no location yet" in response.content.decode()


def test_admin_lists_do_not_query_per_row():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    staff = UserFactory(staff=True)
    client = logged_in(staff)

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    DishFactory.create_batch(2)
    few = [queries(reverse("admin:menus_dish_changelist")), queries(reverse("admin:chefs_kitchen_changelist"))]
    DishFactory.create_batch(28)
    many = [queries(reverse("admin:menus_dish_changelist")), queries(reverse("admin:chefs_kitchen_changelist"))]

    assert few == many
