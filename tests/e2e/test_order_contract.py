"""The order API checked from outside, as the mobile apps see it: plain HTTP against
the Procfile's web, worker and beat and localstripe, every path, status, error code
and field name of the contract's "Orders" and the chef's order rows."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.conf import settings

from tests.e2e.ordering import DROP_OFF, HTTPS, open_all_week, open_kitchen, pay_with_webhook, signed_in
from tests.payments.conftest import StripeDouble
from tests.processes import wait_for

FAR = {"address": "Aéroport Charles de Gaulle", "lat": 49.0097, "lng": 2.5479}
BOEUF = {"name": "Boeuf bourguignon", "price_cents": 1450, "allergens": ["celery", "sulphites"]}
# The contract's "Order: {...}".
MONEY_FIELDS = {"subtotal_cents", "delivery_fee_cents", "service_fee_cents", "tip_cents", "total_cents"}
ORDER_FIELDS = {
    "id",
    "status",
    "chef",
    "items",
    "currency",
    "delivery",
    "payment",
    "timeline",
    "created_at",
    *MONEY_FIELDS,
}
ITEM_FIELDS = {"dish_id", "name", "quantity", "unit_price_cents", "line_total_cents", "allergens", "vat_rate"}
PAYMENT_FIELDS = {"provider", "payment_intent_id", "client_secret", "publishable_key"}


def kitchen_with(env: dict[str, str], base: str, name: str, *dishes: dict) -> dict:
    """An approved kitchen open all week with ``dishes`` (name, price_cents,
    allergens, portions_per_day)."""
    return open_kitchen(base, env, chef_name="Nadia Haddad", kitchen_name=name, dish=dishes[0], more_dishes=dishes[1:])


@pytest.fixture(scope="module")
def shop(web, worker, beat, released):
    """The kitchen most checks order from: a dish with plenty of portions, one with 3,
    one to take off the menu, one to delete and one under 0,50 €."""
    opened = kitchen_with(
        released,
        web.base_url,
        "Chez Nadia",
        {**BOEUF, "portions_per_day": 200},
        {"name": "Tarte Tatin", "price_cents": 650, "allergens": ["gluten", "eggs", "milk"], "portions_per_day": 3},
        {"name": "Soupe", "price_cents": 700, "allergens": [], "portions_per_day": 5},
        {"name": "Gratin", "price_cents": 900, "allergens": ["milk"], "portions_per_day": 5},
        {"name": "Bonbon", "price_cents": 40, "allergens": [], "portions_per_day": 5},
    )
    boeuf, tatin, soupe, gratin, bonbon = opened["dish_ids"]
    return {
        **opened,
        "base": web.base_url,
        "boeuf": boeuf,
        "tatin": tatin,
        "soupe": soupe,
        "gratin": gratin,
        "bonbon": bonbon,
    }


@pytest.fixture(scope="module")
def other_shop(web, released):
    opened = kitchen_with(released, web.base_url, "Chez Paul", {**BOEUF, "portions_per_day": 50})
    return {**opened, "dish": opened["dish_ids"][0]}


@pytest.fixture
def customer(shop) -> dict[str, str]:
    headers = signed_in(shop["base"], "customer", "Camille Martin")
    headers.pop("email")
    return headers


@pytest.fixture(scope="module")
def stripe_double(localstripe_server) -> StripeDouble:
    return StripeDouble(localstripe_server)


def body(*items: tuple[str, int], delivery: dict | None = None, tip_cents: int | None = None) -> dict:
    made = {
        "items": [{"dish_id": dish_id, "quantity": quantity} for dish_id, quantity in items],
        "delivery": {**(delivery or DROP_OFF), "instructions": "Code 1234", "phone": "+33 6 12 34 56 78"},
    }
    if tip_cents is not None:
        made["tip_cents"] = tip_cents
    return made


def order(base: str, headers: dict, payload: dict | None, *, key: str | None = "new", **kwargs) -> requests.Response:
    """POST /api/v1/orders; ``key="new"`` sends a fresh Idempotency-Key, None none."""
    sent = dict(headers)
    if key is not None:
        sent["Idempotency-Key"] = str(uuid.uuid4()) if key == "new" else key
    if payload is None:
        return requests.post(f"{base}/api/v1/orders", headers=sent, timeout=30, **kwargs)
    return requests.post(f"{base}/api/v1/orders", json=payload, headers=sent, timeout=30, **kwargs)


def error(response: requests.Response, status: int, code: str, *extra: str) -> dict:
    """The response is the contract's error: this status, ``{code, detail}`` plus
    ``extra`` keys and nothing else."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    answer = response.json()
    assert answer["code"] == code, answer
    assert isinstance(answer["detail"], str)
    assert answer["detail"]
    assert set(answer) == {"code", "detail", *extra}, answer
    return answer


def invalid(response: requests.Response, field: str) -> None:
    fields = error(response, 400, "invalid", "fields")["fields"]
    assert field in fields, fields
    assert fields[field]
    assert all(isinstance(message, str) for message in fields[field])


def portions_left(base: str, dish_id: str) -> int:
    return requests.get(f"{base}/api/v1/dishes/{dish_id}", headers=HTTPS, timeout=10).json()["portions_left"]


def placed(base: str, headers: dict, payload: dict) -> dict:
    response = order(base, headers, payload)
    assert response.status_code == 201, response.text
    return response.json()


def get(base: str, path: str, headers: dict, **params) -> requests.Response:
    return requests.get(f"{base}{path}", headers=headers, params=params, timeout=10)


def post(base: str, path: str, headers: dict, json: dict | None = None) -> requests.Response:
    return requests.post(f"{base}{path}", json=json, headers=headers, timeout=30)


def aware(timestamp: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(timestamp)
    assert parsed.utcoffset() is not None, timestamp
    return parsed


# ---------------------------------------------------------------------------
# Checkout errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("no items", "items"),
        ("quantity 0", "items.0.quantity"),
        ("quantity 21", "items.0.quantity"),
        ("unknown dish", "items"),
        ("two chefs", "items"),
        ("no delivery", "delivery"),
    ],
)
def test_a_checkout_the_contract_calls_invalid_answers_400_with_fields(shop, other_shop, customer, case, field):
    payloads = {
        "no items": body(),
        "quantity 0": body((shop["boeuf"], 0)),
        "quantity 21": body((shop["boeuf"], 21)),
        "unknown dish": body((str(uuid.uuid4()), 1)),
        "two chefs": body((shop["boeuf"], 1), (other_shop["dish"], 1)),
        "no delivery": {"items": [{"dish_id": shop["boeuf"], "quantity": 1}]},
    }
    before = portions_left(shop["base"], shop["boeuf"])

    invalid(order(shop["base"], customer, payloads[case]), field)

    assert portions_left(shop["base"], shop["boeuf"]) == before


def test_a_subtotal_under_the_kitchen_s_minimum_or_under_50_cents_is_invalid(shop, released):
    base = shop["base"]
    strict = kitchen_with(released, base, "Chez Minimum", {**BOEUF, "portions_per_day": 10})
    raised = requests.patch(
        f"{base}/api/v1/chef/profile", json={"minimum_order_cents": 3000}, headers=strict["chef"], timeout=10
    )
    assert raised.status_code == 200, raised.text
    customer = signed_in(base, "customer", "Léa Petit")
    customer.pop("email")

    invalid(order(base, customer, body((strict["dish_ids"][0], 2))), "items")  # 29,00 € < 30,00 €
    invalid(order(base, customer, body((shop["bonbon"], 1))), "items")  # 0,40 €
    assert order(base, customer, body((strict["dish_ids"][0], 3))).status_code == 201  # 43,50 €


def test_a_checkout_without_an_idempotency_key_is_invalid(shop, customer):
    answer = error(order(shop["base"], customer, body((shop["boeuf"], 1)), key=None), 400, "invalid", "fields")

    assert answer["fields"]


def test_a_dish_taken_off_the_menu_or_deleted_is_unavailable_not_unknown(shop, customer):
    base, chef = shop["base"], shop["chef"]
    off = requests.patch(
        f"{base}/api/v1/chef/dishes/{shop['soupe']}", json={"is_available": False}, headers=chef, timeout=10
    )
    assert off.status_code == 200, off.text
    assert requests.delete(f"{base}/api/v1/chef/dishes/{shop['gratin']}", headers=chef, timeout=10).status_code == 204

    for dish_id in (shop["soupe"], shop["gratin"]):
        answer = error(order(base, customer, body((dish_id, 1))), 409, "dish_unavailable", "dish_id")
        assert answer["dish_id"] == dish_id


def test_sold_out_names_the_dish_and_what_is_left_and_reserves_nothing(shop, customer):
    base = shop["base"]
    boeuf_before, tatin_before = portions_left(base, shop["boeuf"]), portions_left(base, shop["tatin"])

    answer = error(
        order(base, customer, body((shop["boeuf"], 2), (shop["tatin"], tatin_before + 1))),
        409,
        "sold_out",
        "dish_id",
        "portions_left",
    )

    assert (answer["dish_id"], answer["portions_left"]) == (shop["tatin"], tatin_before)
    assert (portions_left(base, shop["boeuf"]), portions_left(base, shop["tatin"])) == (boeuf_before, tatin_before)
    assert get(base, "/api/v1/orders", customer).json()["results"] == []


def test_a_kitchen_closed_paused_or_at_its_limit_answers_chef_closed(shop, released):
    base = shop["base"]
    kitchen = kitchen_with(released, base, "Chez Fermé", {**BOEUF, "portions_per_day": 10})
    chef, dish = kitchen["chef"], kitchen["dish_ids"][0]
    customer = signed_in(base, "customer", "Hugo Moreau")
    customer.pop("email")

    def profile(**changes) -> None:
        changed = requests.patch(f"{base}/api/v1/chef/profile", json=changes, headers=chef, timeout=10)
        assert changed.status_code == 200, changed.text

    assert requests.put(f"{base}/api/v1/chef/opening-hours", json=[], headers=chef, timeout=10).status_code == 200
    error(order(base, customer, body((dish, 1))), 409, "chef_closed")

    open_all_week(base, chef)
    profile(is_paused=True)
    error(order(base, customer, body((dish, 1))), 409, "chef_closed")

    profile(is_paused=False, max_open_orders=1)
    assert order(base, customer, body((dish, 1))).status_code == 201
    error(order(base, customer, body((dish, 1))), 409, "chef_closed")
    assert portions_left(base, dish) == 9


def test_a_drop_off_outside_the_kitchen_s_radius_is_out_of_delivery_area(shop, customer):
    error(order(shop["base"], customer, body((shop["boeuf"], 1), delivery=FAR)), 400, "out_of_delivery_area")


def test_a_key_sent_again_answers_the_same_order_and_with_another_body_is_reused(shop, customer):
    base, key = shop["base"], str(uuid.uuid4())
    before = portions_left(base, shop["boeuf"])

    first = order(base, customer, body((shop["boeuf"], 1)), key=key)
    again = order(base, customer, body((shop["boeuf"], 1)), key=key)
    other = order(base, customer, body((shop["boeuf"], 2)), key=key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["payment"]["payment_intent_id"] == first.json()["payment"]["payment_intent_id"]
    error(other, 409, "idempotency_key_reused")
    assert portions_left(base, shop["boeuf"]) == before - 1


@pytest.mark.parametrize("role", ["chef", "courier"])
def test_only_customers_order(shop, role):
    headers = signed_in(shop["base"], role, "Sam Roux")
    headers.pop("email")

    error(order(shop["base"], headers, body((shop["boeuf"], 1))), 403, "permission_denied")


def test_an_anonymous_checkout_is_not_authenticated(shop):
    error(order(shop["base"], HTTPS, body((shop["boeuf"], 1))), 401, "not_authenticated")


def test_a_form_encoded_checkout_is_an_unsupported_media_type(shop, customer):
    response = order(shop["base"], customer, None, data={"items": shop["boeuf"], "tip_cents": "0"})

    error(response, 415, "unsupported_media_type")


# ---------------------------------------------------------------------------
# The order object
# ---------------------------------------------------------------------------


def test_the_order_carries_the_contract_s_fields_payment_timeline_and_money(shop, customer, stripe_double, released):
    base = shop["base"]
    kitchen = get(base, "/api/v1/chef/profile", shop["chef"]).json()

    made = placed(base, customer, body((shop["boeuf"], 1), tip_cents=150))
    shown = get(base, f"/api/v1/orders/{made['id']}", customer).json()

    assert shown == made
    assert set(made) >= ORDER_FIELDS
    assert made["status"] == "pending_payment"
    assert made["chef"] == {"id": shop["chef_id"], "display_name": "Chez Nadia"}
    [line] = made["items"]
    assert set(line) >= ITEM_FIELDS
    assert line == {
        **{name: line[name] for name in set(line) - ITEM_FIELDS},
        "dish_id": shop["boeuf"],
        "name": "Boeuf bourguignon",
        "quantity": 1,
        "unit_price_cents": 1450,
        "line_total_cents": 1450,
        "allergens": ["celery", "sulphites"],
        "vat_rate": 10,
    }
    # The service fee is PLATFORM_FEE_PERCENT of the subtotal, rounded half up:
    # 1450 at 5 % is 72.5 cents, which must become 73 (not 72).
    exact = Decimal(1450) * Decimal(settings.PLATFORM_FEE_PERCENT) / 100
    assert exact % 1 == Decimal("0.5")
    fee = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert (made["subtotal_cents"], made["service_fee_cents"], made["tip_cents"]) == (1450, fee, 150)
    assert made["delivery_fee_cents"] == kitchen["delivery_fee_cents"]
    assert made["total_cents"] == 1450 + kitchen["delivery_fee_cents"] + fee + 150
    assert made["currency"] == "EUR"
    assert {key: made["delivery"][key] for key in ("address", "lat", "lng", "instructions", "phone")} == {
        **DROP_OFF,
        "instructions": "Code 1234",
        "phone": "+33 6 12 34 56 78",
    }
    payment = made["payment"]
    assert set(payment) == PAYMENT_FIELDS
    assert payment["provider"] == "stripe"
    assert payment["client_secret"]
    assert payment["publishable_key"] == released["STRIPE_PUBLISHABLE_KEY"]
    intent = stripe_double.intent(payment["payment_intent_id"])
    assert (intent["amount"], intent["currency"], intent["capture_method"]) == (made["total_cents"], "eur", "manual")
    [entry] = made["timeline"]
    assert set(entry) == {"status", "at"}
    assert entry["status"] == "pending_payment"
    assert abs(aware(entry["at"]) - aware(made["created_at"])) < dt.timedelta(seconds=5)

    # The menu changes afterwards: the order keeps what the customer bought.
    changed = requests.patch(
        f"{base}/api/v1/chef/dishes/{shop['boeuf']}",
        json={"name": "Boeuf (new recipe)", "price_cents": 1600, "allergens": ["celery"]},
        headers=shop["chef"],
        timeout=10,
    )
    assert changed.status_code == 200, changed.text
    try:
        kept = get(base, f"/api/v1/orders/{made['id']}", customer).json()["items"][0]
        assert (kept["name"], kept["unit_price_cents"], kept["allergens"]) == (
            "Boeuf bourguignon",
            1450,
            ["celery", "sulphites"],
        )
    finally:
        requests.patch(f"{base}/api/v1/chef/dishes/{shop['boeuf']}", json=BOEUF, headers=shop["chef"], timeout=10)


def test_my_orders_newest_first_paginated(shop, customer):
    base = shop["base"]
    ids = [placed(base, customer, body((shop["boeuf"], 1)))["id"] for _ in range(3)]

    first = get(base, "/api/v1/orders", customer, page_size=2).json()
    second = get(base, urlsplit(first["next"]).path, customer, **dict(_query(first["next"]))).json()

    assert set(first) >= {"results", "next", "previous"}
    assert [o["id"] for o in first["results"]] == [ids[2], ids[1]]
    assert first["previous"] is None
    assert [o["id"] for o in second["results"]] == [ids[0]]
    assert second["next"] is None
    assert second["previous"] is not None
    assert all(set(o) >= ORDER_FIELDS for o in first["results"])
    error(get(base, "/api/v1/orders", customer, page_size=101), 400, "invalid", "fields")


def _query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


def test_another_customer_s_order_is_not_found(shop, customer):
    base = shop["base"]
    mine = placed(base, customer, body((shop["boeuf"], 1)))
    stranger = signed_in(base, "customer", "Eve Durand")
    stranger.pop("email")

    error(get(base, f"/api/v1/orders/{mine['id']}", stranger), 404, "not_found")
    error(post(base, f"/api/v1/orders/{mine['id']}/cancel", stranger), 404, "not_found")
    error(get(base, f"/api/v1/orders/{uuid.uuid4()}", customer), 404, "not_found")
    assert get(base, f"/api/v1/orders/{mine['id']}", customer).json()["status"] == "pending_payment"


def test_cancelling_twice_answers_200_both_times_and_gives_portions_back_once(shop, customer, stripe_double):
    base = shop["base"]
    made = placed(base, customer, body((shop["boeuf"], 2)))
    reserved = portions_left(base, shop["boeuf"])

    once = post(base, f"/api/v1/orders/{made['id']}/cancel", customer)
    twice = post(base, f"/api/v1/orders/{made['id']}/cancel", customer)

    assert (once.status_code, twice.status_code) == (200, 200)
    assert once.json()["status"] == twice.json()["status"] == "cancelled"
    assert portions_left(base, shop["boeuf"]) == reserved + 2
    assert [e["status"] for e in twice.json()["timeline"]] == ["pending_payment", "cancelled"]
    assert stripe_double.intent(made["payment"]["payment_intent_id"])["status"] == "canceled"


# ---------------------------------------------------------------------------
# The chef's side
# ---------------------------------------------------------------------------


def _paid(shop, customer, stripe_double, quantity: int = 1) -> dict:
    """An order placed and paid at localstripe, once the webhook made it paid."""
    base = shop["base"]
    made = placed(base, customer, body((shop["boeuf"], quantity)))
    pay_with_webhook(base, stripe_double, made["payment"]["payment_intent_id"])
    path = f"/api/v1/orders/{made['id']}"
    assert wait_for(lambda: get(base, path, customer).json()["status"] == "paid", timeout=10)
    return made


def _chef_sees(shop, order_id: str, **params) -> dict | None:
    listed = get(shop["base"], "/api/v1/chef/orders", shop["chef"], page_size=100, **params).json()
    return next((o for o in listed["results"] if o["id"] == order_id), None)


def test_the_chef_list_shows_lines_allergens_instructions_first_name_and_deadline_only(shop, customer, stripe_double):
    waiting = placed(shop["base"], customer, body((shop["boeuf"], 1)))
    made = _paid(shop, customer, stripe_double)

    shown = _chef_sees(shop, made["id"], status="paid")

    assert _chef_sees(shop, waiting["id"]) is None  # not paid yet: not the chef's to see
    assert shown["status"] == "paid"
    assert shown["customer"] == {"first_name": "Camille"}
    assert shown["delivery"] == {"instructions": "Code 1234"}
    assert [(i["dish_id"], i["quantity"], i["allergens"]) for i in shown["items"]] == [
        (shop["boeuf"], 1, ["celery", "sulphites"])
    ]
    assert aware(shown["accept_by"]) > dt.datetime.now(dt.UTC)
    assert "payment" not in shown
    text = str(shown)
    for private in ("rue de Rivoli", "+33", "Martin", made["payment"]["payment_intent_id"], "client_secret"):
        assert private not in text
    error(get(shop["base"], "/api/v1/chef/orders", customer), 403, "permission_denied")


def test_accept_ready_and_every_other_move_of_the_chef(shop, other_shop, customer, stripe_double):
    base, chef = shop["base"], shop["chef"]
    made = _paid(shop, customer, stripe_double)
    unpaid = placed(base, customer, body((shop["boeuf"], 1)))
    path = f"/api/v1/chef/orders/{made['id']}"

    error(post(base, f"/api/v1/chef/orders/{unpaid['id']}/accept", chef), 409, "invalid_transition")
    error(post(base, f"{path}/ready", chef), 409, "invalid_transition")
    error(post(base, f"{path}/accept", other_shop["chef"]), 404, "not_found")
    invalid(post(base, f"{path}/reject", chef, json={}), "reason")

    accepted = post(base, f"{path}/accept", chef, json={"prep_minutes": 25})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert stripe_double.intent(made["payment"]["payment_intent_id"])["status"] == "succeeded"
    error(post(base, f"{path}/accept", chef), 409, "invalid_transition")
    error(post(base, f"{path}/reject", chef, json={"reason": "Too late"}), 409, "invalid_transition")
    error(post(base, f"/api/v1/orders/{made['id']}/cancel", customer), 409, "invalid_transition")
    error(post(base, f"/api/v1/orders/{made['id']}/review", customer, json={"rating": 5}), 409, "review_not_allowed")

    ready = post(base, f"{path}/ready", chef)
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready_for_pickup"
    error(post(base, f"{path}/ready", chef), 409, "invalid_transition")
    final = get(base, f"/api/v1/orders/{made['id']}", customer).json()
    assert [e["status"] for e in final["timeline"]] == ["pending_payment", "paid", "accepted", "ready_for_pickup"]
    assert final["payment"]["client_secret"] is None
    error(post(base, f"/api/v1/orders/{made['id']}/review", customer, json={"rating": 5}), 409, "review_not_allowed")


def test_reject_cancels_voids_and_gives_the_portions_back(shop, customer, stripe_double):
    base, chef = shop["base"], shop["chef"]
    made = _paid(shop, customer, stripe_double, quantity=3)
    reserved = portions_left(base, shop["boeuf"])
    path = f"/api/v1/chef/orders/{made['id']}"

    rejected = post(base, f"{path}/reject", chef, json={"reason": "Out of beef"})

    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "cancelled"
    assert portions_left(base, shop["boeuf"]) == reserved + 3
    assert stripe_double.intent(made["payment"]["payment_intent_id"])["status"] == "canceled"
    seen = get(base, f"/api/v1/orders/{made['id']}", customer).json()
    assert [e["status"] for e in seen["timeline"]] == ["pending_payment", "paid", "cancelled"]
    error(post(base, f"{path}/reject", chef, json={"reason": "Again"}), 409, "invalid_transition")
    error(post(base, f"/api/v1/orders/{made['id']}/review", customer, json={"rating": 4}), 409, "review_not_allowed")
