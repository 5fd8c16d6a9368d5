"""A chef opens a kitchen and customers find it, through the real processes: the web
process from the Procfile, a Celery worker delivering the registration event, and the
one-off ``approve_chef`` command platform staff run."""

import time

import psycopg
import pytest
import requests

from tests.e2e.conftest import approve_chef

HTTPS = {"X-Forwarded-Proto": "https"}
PARIS = {"lat": 48.8566, "lng": 2.3522}


def kitchen_rows(env, email: str) -> int:
    with psycopg.connect(env["DATABASE_URL"]) as conn:
        return conn.execute(
            "SELECT count(*) FROM chefs_kitchen k JOIN accounts_user u ON u.id = k.chef_id WHERE u.email = %s",
            (email,),
        ).fetchone()[0]


@pytest.fixture(scope="module")
def listed(web, worker, released):
    """A chef who signed up, set up a kitchen with a dish and was approved; what the
    customers' checks need."""
    base = web.base_url
    email = f"chef-{time.time_ns()}@example.com"
    password = "a-long-unusual-phrase"

    registered = requests.post(
        f"{base}/api/v1/auth/register",
        json={"email": email, "password": password, "full_name": "Nadia Haddad", "role": "chef"},
        headers=HTTPS,
        timeout=10,
    )
    assert registered.status_code == 201, registered.text

    # The worker handles UserRegistered and opens the kitchen, before the chef asks for it.
    deadline = time.monotonic() + 30
    while kitchen_rows(released, email) == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert kitchen_rows(released, email) == 1, worker.output()[-3000:]

    token = requests.post(
        f"{base}/api/v1/auth/token", json={"email": email, "password": password}, headers=HTTPS, timeout=10
    ).json()["access"]
    chef = {**HTTPS, "Authorization": f"Bearer {token}"}
    profile = requests.patch(
        f"{base}/api/v1/chef/profile",
        json={
            "display_name": "Chez Nadia",
            "cuisine": "Lebanese",
            "address": "1 rue de Rivoli, Paris",
            **PARIS,
            "delivery_radius_km": 5,
            "delivery_fee_cents": 290,
            "prep_minutes": 20,
        },
        headers=chef,
        timeout=10,
    )
    assert profile.status_code == 200, profile.text
    assert profile.json()["is_approved"] is False
    week = [{"weekday": day, "opens": "00:00", "closes": "24:00"} for day in range(7)]
    assert requests.put(f"{base}/api/v1/chef/opening-hours", json=week, headers=chef, timeout=10).status_code == 200
    dish = requests.post(
        f"{base}/api/v1/chef/dishes",
        json={
            "name": "Mezze platter",
            "description": "Hummus, tabbouleh, falafel",
            "price_cents": 1450,
            "dietary_tags": ["vegan"],
            "allergens": ["sesame"],
            "portions_per_day": 12,
            "is_available": True,
        },
        headers=chef,
        timeout=10,
    )
    assert dish.status_code == 201, dish.text

    # Unapproved: customers do not see it yet.
    near = {"lat": 48.857, "lng": 2.353}
    before = requests.get(f"{base}/api/v1/dishes", params=near, headers=HTTPS, timeout=10).json()
    assert dish.json()["id"] not in [d["id"] for d in before["results"]]

    approve_chef(released, email)

    return {"base": base, "chef": chef, "dish_id": dish.json()["id"], "kitchen_id": profile.json()["id"], "near": near}


def test_a_chef_opens_a_kitchen_and_customers_find_it(listed):
    base, near = listed["base"], listed["near"]
    dishes = requests.get(f"{base}/api/v1/dishes", params=near, headers=HTTPS, timeout=10).json()
    [shown] = [d for d in dishes["results"] if d["id"] == listed["dish_id"]]
    assert shown["portions_left"] == 12
    assert shown["allergens"] == ["sesame"]
    chefs = requests.get(f"{base}/api/v1/chefs", params={**near, "open_now": "true"}, headers=HTTPS, timeout=10)
    assert listed["kitchen_id"] in [c["id"] for c in chefs.json()["results"]]


def _menu(listed) -> requests.Response:
    url = f"{listed['base']}/api/v1/dishes?lat=48.8571&lng=2.3531"
    return requests.get(url, headers=HTTPS, timeout=10)


def _shown(response: requests.Response, dish_id: str) -> dict:
    [dish] = [d for d in response.json()["results"] if d["id"] == dish_id]
    return dish


def test_a_repeated_browse_is_replayed_by_the_web_entry_with_live_stock(listed):
    first, again = _menu(listed), _menu(listed)

    assert first.status_code == again.status_code == 200
    assert "X-Cache" not in first.headers  # built by Django
    assert again.headers["X-Cache"] == "hit"  # replayed before Django
    assert again.json() == first.json()
    per_response = {"x-request-id", "date", "x-cache"}
    assert {k.lower(): v for k, v in again.headers.items() if k.lower() not in per_response} == {
        k.lower(): v for k, v in first.headers.items() if k.lower() not in per_response
    }
    assert "max-age" in again.headers["Strict-Transport-Security"]
    assert again.headers["X-Request-ID"] != first.headers["X-Request-ID"]

    # A chef sets today's stock: the next answers show it, the menu stays cached.
    changed = requests.patch(
        f"{listed['base']}/api/v1/chef/dishes/{listed['dish_id']}",
        json={"portions_left": 5},
        headers=listed["chef"],
        timeout=10,
    )
    assert changed.status_code == 200, changed.text
    assert _shown(_menu(listed), listed["dish_id"])["portions_left"] == 5
    replayed = _menu(listed)
    assert replayed.headers["X-Cache"] == "hit"
    assert _shown(replayed, listed["dish_id"])["portions_left"] == 5

    # A price change is a new menu: the very next answer has it.
    requests.patch(
        f"{listed['base']}/api/v1/chef/dishes/{listed['dish_id']}",
        json={"price_cents": 1590},
        headers=listed["chef"],
        timeout=10,
    ).raise_for_status()
    assert _shown(_menu(listed), listed["dish_id"])["price_cents"] == 1590
