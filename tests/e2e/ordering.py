"""What the end-to-end order tests do over HTTP against the Procfile's processes:
sign people up, open a kitchen, place an order and pay it at localstripe with the
webhook Stripe would send."""

from __future__ import annotations

import uuid
from pathlib import Path

import requests
from django.conf import settings

from tests.e2e.conftest import approve_chef
from tests.payments.conftest import StripeDouble
from tests.payments.signing import event_payload, signed_delivery
from tests.processes import ROOT

HTTPS = {"X-Forwarded-Proto": "https"}
PASSWORD = "a-long-unusual-phrase"
KITCHEN = {"lat": 48.861, "lng": 2.336}
DROP_OFF = {"address": "12 rue de Rivoli, 75004 Paris", "lat": 48.8566, "lng": 2.3522}
NEAR_KITCHEN = {"lat": KITCHEN["lat"] + 0.001, "lng": KITCHEN["lng"]}


def signed_in(base: str, role: str, full_name: str) -> dict[str, str]:
    """A new account of ``role``: its API headers, with its ``email`` (the password is
    :data:`PASSWORD`)."""
    email = f"{role}-{uuid.uuid4().hex[:10]}@example.com"
    registered = requests.post(
        f"{base}/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "full_name": full_name, "role": role},
        headers=HTTPS,
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    tokens = requests.post(
        f"{base}/api/v1/auth/token", json={"email": email, "password": PASSWORD}, headers=HTTPS, timeout=10
    ).json()
    return {**HTTPS, "Authorization": f"Bearer {tokens['access']}", "email": email}


def open_kitchen(
    base: str,
    env: dict[str, str],
    *,
    chef_name: str,
    kitchen_name: str,
    dish: dict,
    more_dishes: tuple = (),
    root: Path = ROOT,
) -> dict:
    """An approved kitchen open all week with ``dish`` (and ``more_dishes``):
    ``{chef, email, chef_id, dish_id, dish_ids}`` (``chef`` the chef's API headers,
    ``chef_id`` the kitchen's public id, ``dish_ids`` every dish's in order). Staff
    approve it with the release checked out at ``root``."""
    chef = signed_in(base, "chef", chef_name)
    email = chef.pop("email")
    profile = requests.patch(
        f"{base}/api/v1/chef/profile",
        json={"display_name": kitchen_name, "address": "1 rue de Rivoli", **KITCHEN, "delivery_radius_km": 5},
        headers=chef,
        timeout=10,
    )
    assert profile.status_code == 200, profile.text
    open_all_week(base, chef)
    dish_ids = []
    for each in (dish, *more_dishes):
        created = requests.post(
            f"{base}/api/v1/chef/dishes",
            json={"dietary_tags": [], "is_available": True, **each},
            headers=chef,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        dish_ids.append(created.json()["id"])
    approve_chef(env, email, root=root)
    return {"chef": chef, "email": email, "chef_id": profile.json()["id"], "dish_id": dish_ids[0], "dish_ids": dish_ids}


def open_all_week(base: str, chef: dict[str, str]) -> None:
    """The chef's kitchen takes orders every day, all day."""
    week = [{"weekday": day, "opens": "00:00", "closes": "24:00"} for day in range(7)]
    assert requests.put(f"{base}/api/v1/chef/opening-hours", json=week, headers=chef, timeout=10).status_code == 200


def place_order(base: str, customer: dict[str, str], body: dict) -> requests.Response:
    """``POST /orders`` with a new Idempotency-Key."""
    key = {"Idempotency-Key": str(uuid.uuid4())}
    return requests.post(f"{base}/api/v1/orders", json=body, headers={**customer, **key}, timeout=30)


def pay_with_webhook(base: str, stripe_double: StripeDouble, intent_id: str) -> None:
    """The app confirms the card with Stripe; Stripe calls the webhook."""
    stripe_double.pay(intent_id)
    event = event_payload("payment_intent.amount_capturable_updated", stripe_double.intent(intent_id))
    payload, headers = signed_delivery(event, settings.STRIPE_WEBHOOK_SECRET)
    hooked = requests.post(f"{base}/api/v1/payments/stripe/webhook", data=payload, headers=headers, timeout=10)
    assert hooked.status_code == 200, hooked.text


def claim_delivery(base: str, courier: dict[str, str], order_id: str) -> tuple[dict, requests.Response]:
    """The courier goes online at :data:`NEAR_KITCHEN`, finds the order's delivery
    among those waiting and claims it: (the offer, the claim's answer)."""
    online = {"online": True, **NEAR_KITCHEN}
    assert requests.post(f"{base}/api/v1/courier/availability", json=online, headers=courier, timeout=10).ok
    listed = requests.get(f"{base}/api/v1/courier/deliveries/available", headers=courier, timeout=10).json()
    [offer] = [d for d in listed["results"] if d["order_id"] == order_id]
    claimed = requests.post(f"{base}/api/v1/courier/deliveries/{offer['id']}/claim", headers=courier, timeout=10)
    assert claimed.status_code == 200, claimed.text
    return offer, claimed
