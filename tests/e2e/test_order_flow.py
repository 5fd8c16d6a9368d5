"""An order from checkout to the kitchen's counter through the Procfile's processes
(web, worker, beat) and localstripe: placed over HTTP, paid with a card at
localstripe, the webhook moving it to paid, the chef accepting (captured) and marking
it ready."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from django.conf import settings

from tests.e2e.conftest import approve_chef
from tests.payments.conftest import StripeDouble
from tests.payments.signing import event_payload, signed_delivery
from tests.processes import wait_for

HTTPS = {"X-Forwarded-Proto": "https"}
KITCHEN = {"lat": 48.861, "lng": 2.336}
DROP_OFF = {"address": "12 rue de Rivoli, 75004 Paris", "lat": 48.8566, "lng": 2.3522}


def _signed_in(base: str, role: str, full_name: str) -> dict[str, str]:
    email, password = f"{role}-{uuid.uuid4().hex[:10]}@example.com", "a-long-unusual-phrase"
    registered = requests.post(
        f"{base}/api/v1/auth/register",
        json={"email": email, "password": password, "full_name": full_name, "role": role},
        headers=HTTPS,
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    tokens = requests.post(
        f"{base}/api/v1/auth/token", json={"email": email, "password": password}, headers=HTTPS, timeout=10
    ).json()
    return {**HTTPS, "Authorization": f"Bearer {tokens['access']}", "email": email}


@pytest.fixture(scope="module")
def kitchen(web, worker, beat, released):
    """An approved kitchen open all week with one dish of 8 portions."""
    base = web.base_url
    chef = _signed_in(base, "chef", "Nadia Haddad")
    email = chef.pop("email")
    profile = requests.patch(
        f"{base}/api/v1/chef/profile",
        json={"display_name": "Chez Nadia", "address": "1 rue de Rivoli", **KITCHEN, "delivery_radius_km": 5},
        headers=chef,
        timeout=10,
    )
    assert profile.status_code == 200, profile.text
    week = [{"weekday": day, "opens": "00:00", "closes": "24:00"} for day in range(7)]
    assert requests.put(f"{base}/api/v1/chef/opening-hours", json=week, headers=chef, timeout=10).status_code == 200
    dish = requests.post(
        f"{base}/api/v1/chef/dishes",
        json={
            "name": "Mezze platter",
            "price_cents": 1450,
            "allergens": ["sesame"],
            "dietary_tags": [],
            "portions_per_day": 8,
            "is_available": True,
        },
        headers=chef,
        timeout=10,
    )
    assert dish.status_code == 201, dish.text
    approve_chef(released, email)
    return {"base": base, "chef": chef, "dish_id": dish.json()["id"]}


def test_an_order_is_placed_paid_accepted_captured_and_ready(kitchen, localstripe_server, worker, beat):
    base, chef = kitchen["base"], kitchen["chef"]
    customer = _signed_in(base, "customer", "Camille Martin")
    customer.pop("email")
    stripe_double = StripeDouble(localstripe_server)
    body = {"items": [{"dish_id": kitchen["dish_id"], "quantity": 2}], "delivery": DROP_OFF, "tip_cents": 100}

    # The app places the order (and retries once, as after a lost answer).
    key = {"Idempotency-Key": str(uuid.uuid4())}
    placed = requests.post(f"{base}/api/v1/orders", json=body, headers={**customer, **key}, timeout=30)
    replayed = requests.post(f"{base}/api/v1/orders", json=body, headers={**customer, **key}, timeout=30)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert replayed.json()["id"] == order["id"]
    assert order["status"] == "pending_payment"
    assert order["total_cents"] == 2900 + 299 + 145 + 100
    intent_id = order["payment"]["payment_intent_id"]
    assert stripe_double.intent(intent_id)["amount"] == order["total_cents"]

    # The app confirms the card with Stripe; Stripe calls the webhook.
    stripe_double.pay(intent_id)
    event = event_payload("payment_intent.amount_capturable_updated", stripe_double.intent(intent_id))
    payload, headers = signed_delivery(event, settings.STRIPE_WEBHOOK_SECRET)
    hooked = requests.post(f"{base}/api/v1/payments/stripe/webhook", data=payload, headers=headers, timeout=10)
    assert hooked.status_code == 200, hooked.text
    heard = time.monotonic()

    def status() -> str:
        return requests.get(f"{base}/api/v1/orders/{order['id']}", headers=customer, timeout=10).json()["status"]

    # API.md: within 2 s of the news; asserted with margin on a busy test machine.
    assert wait_for(lambda: status() == "paid", timeout=10), worker.output()[-3000:]
    print(f"paid {time.monotonic() - heard:.2f} s after the webhook was answered")

    listed = requests.get(f"{base}/api/v1/chef/orders", params={"status": "paid"}, headers=chef, timeout=10).json()
    [shown] = [o for o in listed["results"] if o["id"] == order["id"]]
    assert shown["customer"] == {"first_name": "Camille"}
    assert shown["items"][0]["allergens"] == ["sesame"]
    assert "address" not in shown["delivery"]

    accepted = requests.post(
        f"{base}/api/v1/chef/orders/{order['id']}/accept", json={"prep_minutes": 25}, headers=chef, timeout=30
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert stripe_double.intent(intent_id)["status"] == "succeeded"

    ready = requests.post(f"{base}/api/v1/chef/orders/{order['id']}/ready", headers=chef, timeout=10)
    assert ready.json()["status"] == "ready_for_pickup"
    final = requests.get(f"{base}/api/v1/orders/{order['id']}", headers=customer, timeout=10).json()
    assert [entry["status"] for entry in final["timeline"]] == [
        "pending_payment",
        "paid",
        "accepted",
        "ready_for_pickup",
    ]
    assert final["payment"]["client_secret"] is None
