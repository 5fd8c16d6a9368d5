"""The admin: chefs log in by role and see only their own kitchen and dishes; staff
see everything and approve kitchens."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.chefs.models import Kitchen, OpeningHours
from apps.menus.models import Dish
from foodiefast.admin_fields import euros_text
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
        assert response.status_code == 302, url  # "does not exist", as for a deleted row
        assert response.url == reverse("admin:index")

    response = client.post(
        reverse("admin:menus_dish_change", args=[other_dish.pk]),
        {
            "name": "Hacked",
            "price_cents": "0,01",
            "portions_per_day": 1,
            "kitchen": chef_b.pk,
            "contains_no_allergen": "on",
        },
    )
    other_dish.refresh_from_db()
    assert other_dish.name == "Bob burger"


def test_a_chef_cannot_put_a_dish_in_another_kitchen(chef_a, chef_b):
    client = logged_in(chef_a.chef)
    assert 'name="kitchen"' not in client.get(reverse("admin:menus_dish_add")).content.decode()  # nothing to pick
    form = {
        "name": "Sneaky",
        "price_cents": "9,00",
        "portions_per_day": 5,
        "allergens": ["eggs"],
        "is_available": "on",
        "kitchen": chef_b.pk,  # not a field of a chef's form: ignored
    }
    response = client.post(reverse("admin:menus_dish_add"), form)

    assert response.status_code == 302
    dish = Dish.objects.get(name="Sneaky")
    assert (dish.kitchen, dish.allergens, dish.portions_left, dish.price_cents) == (chef_a, ["eggs"], 5, 900)


def test_the_admin_requires_an_allergen_declaration(chef_a):
    client = logged_in(chef_a.chef)
    form = {"name": "Mystery", "price_cents": "9,00", "portions_per_day": 5, "kitchen": chef_a.pk}

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
        "delivery_fee_cents": "3,00",
        "prep_minutes": "25",
        "minimum_order_cents": "0",
        "max_open_orders": "",
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
    week = OpeningHours.objects.filter(kitchen=chef_a).values_list("weekday", "opens_minute", "closes_minute")
    assert list(week) == [(2, 18 * 60 + 30, 24 * 60)]  # the week replaced, as the chef API's PUT does


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
        "delivery_fee_cents": "3,00",
        "prep_minutes": "25",
        "minimum_order_cents": "0",
        "max_open_orders": "",
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
    listed = client.get(reverse("admin:chefs_kitchen_changelist")).content.decode()
    response = client.post(
        reverse("admin:chefs_kitchen_changelist"), {"action": "approve", "_selected_action": [str(chef_a.pk)]}
    )
    assert 'value="approve"' not in listed  # the action is not offered
    assert response.status_code == 200  # the list again: there is no action to run
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


# The same rules refused by the admin's forms and by the chef API, from one implementation.


def kitchen_form(kitchen, **changes) -> dict:
    hours = list(kitchen.opening_hours.all())
    form = {
        "display_name": kitchen.display_name,
        "cuisine": kitchen.cuisine,
        "address": kitchen.address,
        "lat": "" if kitchen.lat is None else str(kitchen.lat),
        "lng": "" if kitchen.lng is None else str(kitchen.lng),
        "delivery_radius_km": str(kitchen.delivery_radius_km),
        "delivery_fee_cents": euros_text(kitchen.delivery_fee_cents),
        "prep_minutes": str(kitchen.prep_minutes),
        "minimum_order_cents": euros_text(kitchen.minimum_order_cents),
        "max_open_orders": "" if kitchen.max_open_orders is None else str(kitchen.max_open_orders),
        "opening_hours-TOTAL_FORMS": str(len(hours)),
        "opening_hours-INITIAL_FORMS": str(len(hours)),
        "dishes-TOTAL_FORMS": "0",
        "dishes-INITIAL_FORMS": "0",
    }
    for i, slot in enumerate(hours):
        form |= {
            f"opening_hours-{i}-id": str(slot.pk),
            f"opening_hours-{i}-kitchen": str(kitchen.pk),
            f"opening_hours-{i}-weekday": str(slot.weekday),
            f"opening_hours-{i}-opens": slot.opens,
            f"opening_hours-{i}-closes": slot.closes,
        }
    return form | changes


def with_slots(form: dict, kitchen, slots: list[tuple[int, str, str]]) -> dict:
    """``form`` with its opening hours replaced by new rows ``(weekday, opens, closes)``."""
    form = {k: v for k, v in form.items() if not k.startswith("opening_hours-")}
    form |= {"opening_hours-TOTAL_FORMS": str(len(slots)), "opening_hours-INITIAL_FORMS": "0"}
    for i, (weekday, opens, closes) in enumerate(slots):
        form |= {
            f"opening_hours-{i}-kitchen": str(kitchen.pk),
            f"opening_hours-{i}-weekday": str(weekday),
            f"opening_hours-{i}-opens": opens,
            f"opening_hours-{i}-closes": closes,
        }
    return form


@pytest.mark.parametrize(
    ("slots", "message"),
    [
        ([(0, "12:00", "14:30"), (0, "14:00", "15:00")], "Slots of Monday overlap."),
        (
            [(2, "22:00", "02:00")],
            "A slot closes after it opens, within one day (a service past midnight is two slots).",
        ),
        ([(2, "noon", "14:00")], "Use HH:MM."),
    ],
)
def test_admin_and_api_refuse_the_same_opening_hours_with_the_same_message(chef_a, make_client, slots, message):
    before = list(chef_a.opening_hours.values_list("weekday", "opens_minute", "closes_minute"))
    url = reverse("admin:chefs_kitchen_change", args=[chef_a.pk])

    page = logged_in(chef_a.chef).post(url, with_slots(kitchen_form(chef_a), chef_a, slots))
    api = make_client(chef_a.chef).put(
        "/api/v1/chef/opening-hours", [{"weekday": d, "opens": o, "closes": c} for d, o, c in slots]
    )

    assert page.status_code == 200  # the form again
    assert message in page.content.decode()
    assert api.status_code == 400
    assert [message] in api.json()["fields"].values()
    assert list(chef_a.opening_hours.values_list("weekday", "opens_minute", "closes_minute")) == before


def test_admin_and_api_refuse_half_a_location_with_the_same_message(make_client):
    kitchen = KitchenFactory(unapproved=True)
    url = reverse("admin:chefs_kitchen_change", args=[kitchen.pk])

    page = logged_in(kitchen.chef).post(url, kitchen_form(kitchen, lng=""))
    api = make_client(kitchen.chef).patch("/api/v1/chef/profile", {"lat": 48.9})

    assert page.status_code == 200
    assert "Give lat and lng together." in page.content.decode()
    assert api.status_code == 400
    assert api.json()["fields"] == {"lat": ["Give lat and lng together."]}
    kitchen.refresh_from_db()
    assert (kitchen.lat, kitchen.lng) == (48.861, 2.336)


def test_admin_and_api_keep_an_approved_kitchen_s_location_with_the_same_message(chef_a, make_client):
    url = reverse("admin:chefs_kitchen_change", args=[chef_a.pk])

    page = logged_in(chef_a.chef).post(url, kitchen_form(chef_a, lat="", lng=""))
    api = make_client(chef_a.chef).patch("/api/v1/chef/profile", {"lat": None, "lng": None})

    assert page.status_code == 200
    assert "An approved kitchen keeps its location (lat and lng)." in page.content.decode()
    assert api.status_code == 409
    assert api.json() == {
        "code": "kitchen_incomplete",
        "detail": "An approved kitchen keeps its location (lat and lng).",
    }
    chef_a.refresh_from_db()
    assert chef_a.lat is not None


def test_hours_and_dishes_changed_on_the_kitchen_page_reach_browsing(chef_a, api, django_capture_on_commit_callbacks):
    url = reverse("admin:chefs_kitchen_change", args=[chef_a.pk])
    assert api.get(f"/api/v1/chefs/{chef_a.pk}").json()["opening_hours"] != []  # cached
    form = with_slots(kitchen_form(chef_a), chef_a, [(4, "19:00", "23:00")]) | {
        "dishes-TOTAL_FORMS": "1",
        "dishes-0-kitchen": str(chef_a.pk),
        "dishes-0-name": "Tarte Tatin",
        "dishes-0-price_cents": "7,50",
        "dishes-0-allergens": ["gluten", "milk"],
        "dishes-0-portions_per_day": "8",
        "dishes-0-is_available": "on",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in(chef_a.chef).post(url, form)

    assert response.status_code == 302, response.content.decode()[:3000]
    page = api.get(f"/api/v1/chefs/{chef_a.pk}").json()
    assert page["opening_hours"] == [{"weekday": 4, "opens": "19:00", "closes": "23:00"}]
    tart = next(d for d in page["dishes"] if d["name"] == "Tarte Tatin")
    assert (tart["portions_left"], tart["allergens"]) == (8, ["gluten", "milk"])


def test_the_admin_availability_actions_reach_browsing(chef_a, api, django_capture_on_commit_callbacks):
    dish = chef_a.dishes.get()
    client = logged_in(chef_a.chef)
    assert len(api.get(f"/api/v1/chefs/{chef_a.pk}").json()["dishes"]) == 1  # cached
    changelist = reverse("admin:menus_dish_changelist")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(changelist, {"action": "make_unavailable", "_selected_action": [str(dish.pk)]})
    hidden = api.get(f"/api/v1/chefs/{chef_a.pk}").json()["dishes"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(changelist, {"action": "make_available", "_selected_action": [str(dish.pk)]})
    shown = api.get(f"/api/v1/chefs/{chef_a.pk}").json()["dishes"]

    assert hidden == []
    assert [d["id"] for d in shown] == [str(dish.pk)]


def test_an_account_added_in_the_admin_is_announced_like_a_sign_up(django_capture_on_commit_callbacks):
    from apps.accounts.events import UserRegistered
    from foodiefast.events import add_local_listener

    client = logged_in(UserFactory(staff=True))
    seen = []
    remove = add_local_listener(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("admin:accounts_user_add"),
                {
                    "email": "New.Chef@Example.com",
                    "full_name": "New Chef",
                    "role": "chef",
                    "password1": "a-long-kitchen-secret",
                    "password2": "a-long-kitchen-secret",
                },
            )
    finally:
        remove()

    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(email="new.chef@example.com")
    assert response.url == reverse("admin:accounts_user_change", args=[user.pk])
    assert user.check_password("a-long-kitchen-secret")
    assert [(type(e), e.user_id, e.role) for e in seen] == [(UserRegistered, str(user.pk), "chef")]


def test_the_admin_refuses_negative_portions_left(chef_a):
    dish = chef_a.dishes.get()
    client = logged_in(chef_a.chef)
    form = {
        "name": dish.name,
        "price_cents": euros_text(dish.price_cents),
        "portions_per_day": str(dish.portions_per_day),
        "portions_left": "-1",
        "contains_no_allergen": "on",
        "is_available": "on",
    }

    response = client.post(reverse("admin:menus_dish_change", args=[dish.pk]), form)

    assert response.status_code == 200  # the form again
    assert "Ensure this value is greater than or equal to 0." in response.content.decode()
    dish.refresh_from_db()
    assert dish.portions_left == dish.portions_per_day


def test_staff_add_a_kitchen_for_a_chef_through_the_services():
    staff = UserFactory(staff=True)
    chef = UserFactory(chef=True)
    form = {
        "chef": str(chef.pk),
        "display_name": "Chez Nouveau",
        "cuisine": "Lebanese",
        "address": "5 rue Y",
        "lat": "48.87",
        "lng": "2.35",
        "delivery_radius_km": "3",
        "delivery_fee_cents": "2,50",
        "prep_minutes": "15",
        "minimum_order_cents": "0",
        "max_open_orders": "",
        "opening_hours-TOTAL_FORMS": "1",
        "opening_hours-INITIAL_FORMS": "0",
        "opening_hours-0-weekday": "1",
        "opening_hours-0-opens": "12:00",
        "opening_hours-0-closes": "14:00",
        "dishes-TOTAL_FORMS": "0",
        "dishes-INITIAL_FORMS": "0",
    }

    response = logged_in(staff).post(reverse("admin:chefs_kitchen_add"), form)

    assert response.status_code == 302, response.content.decode()[:3000]
    kitchen = Kitchen.objects.get(chef=chef)
    assert response.url == reverse("admin:chefs_kitchen_changelist")
    assert (kitchen.display_name, kitchen.lat, kitchen.delivery_radius_km, kitchen.is_approved) == (
        "Chez Nouveau",
        48.87,
        3.0,
        False,
    )
    assert list(kitchen.opening_hours.values_list("weekday", "opens_minute", "closes_minute")) == [(1, 720, 840)]
