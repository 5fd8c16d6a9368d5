"""A chef opens a kitchen and customers find it, through the real processes: the web
process from the Procfile, a Celery worker delivering the registration event, and the
one-off ``approve_chef`` command platform staff run."""

import subprocess
import sys
import time

import psycopg
import requests

from tests.processes import ROOT

HTTPS = {"X-Forwarded-Proto": "https"}
PARIS = {"lat": 48.8566, "lng": 2.3522}


def kitchen_rows(env, email: str) -> int:
    with psycopg.connect(env["DATABASE_URL"]) as conn:
        return conn.execute(
            "SELECT count(*) FROM chefs_kitchen k JOIN accounts_user u ON u.id = k.chef_id WHERE u.email = %s",
            (email,),
        ).fetchone()[0]


def test_a_chef_opens_a_kitchen_and_customers_find_it(web, worker, released):
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

    approved = subprocess.run(
        [sys.executable, "manage.py", "approve_chef", email],
        cwd=ROOT,
        env=released,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert approved.returncode == 0, approved.stderr

    dishes = requests.get(f"{base}/api/v1/dishes", params=near, headers=HTTPS, timeout=10).json()
    [listed] = [d for d in dishes["results"] if d["id"] == dish.json()["id"]]
    assert listed["portions_left"] == 12
    assert listed["allergens"] == ["sesame"]
    chefs = requests.get(f"{base}/api/v1/chefs", params={**near, "open_now": "true"}, headers=HTTPS, timeout=10)
    assert profile.json()["id"] in [c["id"] for c in chefs.json()["results"]]
