"""A chef's kitchen: opened on registration, edited through the chef API, approved by staff."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from apps.chefs.errors import KitchenIncomplete
from apps.chefs.models import Kitchen
from apps.chefs.services import kitchen_approve
from tests.factories.accounts import UserFactory
from tests.factories.chefs import KitchenFactory

pytestmark = pytest.mark.django_db


def test_registering_a_chef_opens_an_unapproved_incomplete_kitchen(api, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/auth/register",
            {"email": "Chef@Example.com", "password": "a-long-secret-42", "full_name": "Ana Chef", "role": "chef"},
        )

    # then
    assert response.status_code == 201
    kitchen = Kitchen.objects.get(chef__email="chef@example.com")
    assert kitchen.is_approved is False
    assert kitchen.lat is None
    assert kitchen.display_name == "Ana Chef"


def test_registering_a_customer_opens_no_kitchen(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.post(
            "/api/v1/auth/register",
            {"email": "eater@example.com", "password": "a-long-secret-42", "full_name": "Eater"},
        )
    assert not Kitchen.objects.exists()


def test_a_chef_always_has_a_kitchen_even_before_the_event_is_handled(make_client, chef_user):
    # given: a chef whose UserRegistered handler has not run (no kitchen row yet)
    assert not Kitchen.objects.filter(chef=chef_user).exists()

    # when
    response = make_client(chef_user).get("/api/v1/chef/profile")

    # then
    assert response.status_code == 200
    assert response.json()["is_approved"] is False
    assert response.json()["id"] == str(Kitchen.objects.get(chef=chef_user).pk)


def test_the_chef_edits_the_profile_but_not_the_approval(make_client, chef_user):
    client = make_client(chef_user)
    response = client.patch(
        "/api/v1/chef/profile",
        {
            "display_name": "Chez Ana",
            "cuisine": "Basque",
            "lat": 48.85,
            "lng": 2.35,
            "delivery_radius_km": 4.5,
            "delivery_fee_cents": 250,
            "prep_minutes": 25,
            "is_paused": True,
            "is_approved": True,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["display_name"] == "Chez Ana"
    assert body["lat"] == 48.85
    assert body["delivery_radius_km"] == 4.5
    assert body["is_paused"] is True
    assert body["is_approved"] is False
    assert body["currency"] == "EUR"
    assert Kitchen.objects.get(chef=chef_user).is_approved is False


@pytest.mark.parametrize(
    "payload",
    [
        {"lat": 91, "lng": 2.3},
        {"lat": 48.8},
        {"lat": "north", "lng": 2.3},
        {"delivery_radius_km": 0},
        {"delivery_radius_km": 500},
        {"delivery_fee_cents": -1},
        {"prep_minutes": 0},
    ],
)
def test_impossible_profile_values_are_refused(make_client, chef_user, payload):
    response = make_client(chef_user).patch("/api/v1/chef/profile", payload)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"]


@pytest.mark.parametrize("role", ["customer", "courier"])
def test_other_roles_may_not_use_the_chef_api(make_client, role):
    user = UserFactory(role=role)
    for path in ("/api/v1/chef/profile", "/api/v1/chef/opening-hours", "/api/v1/chef/dishes"):
        response = make_client(user).get(path)
        assert response.status_code == 403, path
        assert response.json()["code"] == "permission_denied"
    assert not Kitchen.objects.exists()


def test_the_chef_api_needs_a_token(api):
    response = api.get("/api/v1/chef/profile")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_staff_approve_only_a_kitchen_with_a_location():
    staff = UserFactory(staff=True)
    kitchen = KitchenFactory(incomplete=True)

    with pytest.raises(KitchenIncomplete):
        kitchen_approve(kitchen=kitchen, by=staff)
    kitchen.refresh_from_db()
    assert kitchen.is_approved is False

    Kitchen.objects.filter(pk=kitchen.pk).update(lat=48.86, lng=2.34)
    kitchen_approve(kitchen=kitchen, by=staff)
    kitchen.refresh_from_db()
    assert kitchen.is_approved is True
    assert kitchen.approved_by == staff
    assert kitchen.approved_at is not None


def test_approve_chef_command(capsys):
    kitchen = KitchenFactory(unapproved=True, chef__email="marie@example.com")

    call_command("approve_chef", "Marie@Example.com")

    kitchen.refresh_from_db()
    assert kitchen.is_approved is True
    assert "approved" in capsys.readouterr().out


def test_approve_chef_command_explains_what_is_wrong():
    KitchenFactory(incomplete=True, chef__email="nolocation@example.com")
    UserFactory(email="customer@example.com")

    with pytest.raises(CommandError, match="location"):
        call_command("approve_chef", "nolocation@example.com")
    with pytest.raises(CommandError, match="No chef"):
        call_command("approve_chef", "customer@example.com")


def test_an_erased_chef_s_kitchen_leaves_the_catalog(api, make_client, django_capture_on_commit_callbacks):
    kitchen = KitchenFactory()
    client = make_client(kitchen.chef)
    assert api.get("/api/v1/chefs?lat=48.861&lng=2.336").json()["count"] == 1  # cached

    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete("/api/v1/me").status_code == 204

    kitchen.refresh_from_db()
    assert (kitchen.is_approved, kitchen.is_paused) == (False, True)
    assert api.get("/api/v1/chefs?lat=48.861&lng=2.336").json()["count"] == 0
    assert api.get(f"/api/v1/chefs/{kitchen.pk}").status_code == 404
