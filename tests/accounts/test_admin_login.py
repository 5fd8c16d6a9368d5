"""The admin's login follows the API's sign-in rule: one per-account budget of failed
attempts, whichever door they come through."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories.accounts import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token"
LOCKED = "Too many failed sign-in attempts."


def admin_login(email: str, password: str = DEFAULT_PASSWORD, **extra):
    """(response, the browser) after posting the admin's login form."""
    browser = Client(HTTP_X_FORWARDED_PROTO="https")
    response = browser.post(reverse("admin:login"), {"username": email, "password": password}, **extra)
    return response, browser


def api_sign_in(api, email: str, password: str = DEFAULT_PASSWORD):
    return api.post(TOKEN, {"email": email, "password": password}, format="json")


def in_the_admin(browser: Client) -> bool:
    return browser.get(reverse("admin:index")).status_code == 200


def test_a_chef_locked_out_of_the_api_cannot_log_into_the_admin(api, chef_user):
    for _ in range(10):
        assert api_sign_in(api, chef_user.email, "wrong-password").status_code == 401
    assert api_sign_in(api, chef_user.email).status_code == 429

    response, browser = admin_login(chef_user.email)

    assert response.status_code == 200
    assert LOCKED in response.content.decode()
    assert not in_the_admin(browser)


def test_failures_in_the_admin_lock_the_api(api, chef_user):
    for _ in range(10):
        response, _ = admin_login(chef_user.email, "wrong-password")
        assert "Please enter the correct" in response.content.decode()

    locked = api_sign_in(api, chef_user.email)

    assert locked.status_code == 429
    assert locked.json()["code"] == "throttled"
    response, browser = admin_login(chef_user.email)
    assert LOCKED in response.content.decode()
    assert not in_the_admin(browser)


def test_failures_in_both_places_share_one_budget(api, chef_user):
    for _ in range(5):
        admin_login(chef_user.email, "wrong-password")
        api_sign_in(api, chef_user.email, "wrong-password")

    assert api_sign_in(api, chef_user.email).status_code == 429
    assert LOCKED in admin_login(chef_user.email)[0].content.decode()


def test_the_admin_lock_lifts_when_the_window_passes(chef_user):
    for _ in range(10):
        admin_login(chef_user.email, "wrong-password")

    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=14)):
        response, browser = admin_login(chef_user.email)
        assert LOCKED in response.content.decode()
        assert not in_the_admin(browser)
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=16)):
        response, browser = admin_login(chef_user.email)
        assert response.status_code == 302
        assert in_the_admin(browser)


def test_admin_failures_from_one_address_count_against_its_limit(settings, chef_user):
    settings.LOGIN_FAILURES_PER_IP = 3
    for n in range(3):
        admin_login(f"guess{n}@example.com", REMOTE_ADDR="198.51.100.9")

    blocked, _ = admin_login(chef_user.email, REMOTE_ADDR="198.51.100.9")
    allowed, _ = admin_login(chef_user.email, REMOTE_ADDR="198.51.100.10")

    assert LOCKED in blocked.content.decode()
    assert allowed.status_code == 302
