"""POST /api/v1/orders: prices computed here, portions reserved once, a manual-capture
PaymentIntent at localstripe, and every refusal API.md names."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.menus.models import Dish
from apps.orders.models import Order, OrderLine
from apps.payments.events import PaymentAuthorized
from apps.payments.models import Payment
from foodiefast.models import OutboxMessage
from tests.factories.chefs import KitchenFactory, OpeningHoursFactory
from tests.factories.menus import DishFactory
from tests.orders.conftest import FAR, order_body, place

pytestmark = pytest.mark.django_db


def _left(dish) -> int:
    return Dish.objects.get(pk=dish.pk).portions_left


def test_an_order_is_priced_here_reserved_and_waits_for_payment(
    customer_app, dish, other_dish, stripe_double, settings
):
    settings.PLATFORM_FEE_PERCENT = 5

    response = place(customer_app, order_body((dish, 2), (other_dish, 1), tip_cents=200))

    assert response.status_code == 201, response.json()
    order = response.json()
    assert order["status"] == "pending_payment"
    assert order["chef"] == {"id": str(dish.kitchen_id), "display_name": dish.kitchen.display_name}
    # 2 x 12.50 + 6.50 = 31.50; 5 % of it is 1.575, rounded half up to 1.58
    assert order["subtotal_cents"] == 3150
    assert order["delivery_fee_cents"] == 299
    assert order["service_fee_cents"] == 158
    assert order["tip_cents"] == 200
    assert order["total_cents"] == 3150 + 299 + 158 + 200
    assert order["currency"] == "EUR"
    assert sorted(order["items"], key=lambda i: i["name"]) == [
        {
            "dish_id": str(dish.pk),
            "name": "Boeuf bourguignon",
            "quantity": 2,
            "unit_price_cents": 1250,
            "line_total_cents": 2500,
            "allergens": ["celery", "sulphites"],
            "vat_rate": 10.0,
        },
        {
            "dish_id": str(other_dish.pk),
            "name": "Tarte Tatin",
            "quantity": 1,
            "unit_price_cents": 650,
            "line_total_cents": 650,
            "allergens": ["gluten", "eggs", "milk"],
            "vat_rate": 10.0,
        },
    ]
    # VAT included: 10 % on the food, 20 % on the fees, none on the tip.
    assert order["vat"] == [
        {"rate": 10.0, "amount_cents": 3150, "vat_cents": 286},
        {"rate": 20.0, "amount_cents": 457, "vat_cents": 76},
    ]
    assert order["delivery"]["address"] == "12 rue de Rivoli, 75004 Paris"
    assert [entry["status"] for entry in order["timeline"]] == ["pending_payment"]
    assert (_left(dish), _left(other_dish)) == (8, 9)
    intent = stripe_double.intent(order["payment"]["payment_intent_id"])
    assert order["payment"] == {
        "provider": "stripe",
        "payment_intent_id": intent["id"],
        "client_secret": intent["client_secret"],
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
    }
    assert (intent["amount"], intent["currency"], intent["capture_method"]) == (order["total_cents"], "eur", "manual")


def test_lines_keep_the_dish_as_it_was_at_checkout(customer_app, make_client, dish, stripe_double):
    order = place(customer_app, order_body((dish, 1))).json()

    Dish.objects.filter(pk=dish.pk).update(name="Boeuf carottes", price_cents=1900, allergen_mask=0)

    again = customer_app.get(reverse("v1:order", args=[order["id"]])).json()
    assert again["items"][0] | {"dish_id": None} == {
        "dish_id": None,
        "name": "Boeuf bourguignon",
        "quantity": 1,
        "unit_price_cents": 1250,
        "line_total_cents": 1250,
        "allergens": ["celery", "sulphites"],
        "vat_rate": 10.0,
    }


def test_a_replay_answers_the_same_order_with_no_second_reservation_or_payment(customer_app, dish, stripe_double):
    body = order_body((dish, 3))

    first = place(customer_app, body, key="checkout-1")
    second = place(customer_app, body, key="checkout-1")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["payment"] == first.json()["payment"]
    assert _left(dish) == 7
    assert Order.objects.count() == 1
    assert stripe_double.count("payment_intents") == 1


def test_the_same_key_with_another_body_is_refused(customer_app, dish, stripe_double):
    place(customer_app, order_body((dish, 1)), key="checkout-2")

    response = place(customer_app, order_body((dish, 2)), key="checkout-2")

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert _left(dish) == 9


def test_another_customer_may_use_the_same_key(customer_app, make_client, dish, stripe_double):
    from tests.factories.accounts import UserFactory

    first = place(customer_app, order_body((dish, 1)), key="shared")
    second = place(make_client(UserFactory()), order_body((dish, 1)), key="shared")

    assert second.status_code == 201
    assert second.json()["id"] != first.json()["id"]


def test_the_idempotency_key_is_required(customer_app, dish, stripe_double):
    response = customer_app.post(reverse("v1:orders"), order_body((dish, 1)), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "Idempotency-Key" in response.json()["fields"]
    assert _left(dish) == 10


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([], "items"),
        ([("dish", 0)], "items.0.quantity"),
        ([("dish", 21)], "items.0.quantity"),
        ([("dish", "2")], "items.0.quantity"),
        ([("dish", 12), ("dish", 9)], "items"),
    ],
)
def test_impossible_items_are_invalid(customer_app, dish, stripe_double, items, field):
    body = order_body()
    body["items"] = [{"dish_id": str(dish.pk), "quantity": quantity} for _, quantity in items]

    response = place(customer_app, body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"], response.json()
    assert _left(dish) == 10


def test_an_unknown_dish_is_invalid(customer_app, dish, stripe_double):
    body = order_body((dish, 1))
    body["items"].append({"dish_id": "0f0f0f0f-0000-4000-8000-000000000000", "quantity": 1})

    response = place(customer_app, body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert _left(dish) == 10


def test_dishes_of_two_chefs_are_invalid(customer_app, dish, stripe_double):
    elsewhere = DishFactory(kitchen=KitchenFactory(always_open=True))

    response = place(customer_app, order_body((dish, 1), (elsewhere, 1)))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert (_left(dish), _left(elsewhere)) == (10, 10)


def test_a_subtotal_under_the_kitchen_minimum_or_fifty_cents_is_invalid(customer_app, kitchen, dish, stripe_double):
    kitchen.minimum_order_cents = 2000
    kitchen.save()
    cheap = DishFactory(kitchen=KitchenFactory(always_open=True), price_cents=40)

    under_minimum = place(customer_app, order_body((dish, 1)))
    under_fifty_cents = place(customer_app, order_body((cheap, 1)))
    enough = place(customer_app, order_body((dish, 2)))

    assert (under_minimum.status_code, under_minimum.json()["code"]) == (400, "invalid")
    assert "20.00" in under_minimum.json()["detail"]
    assert (under_fifty_cents.status_code, under_fifty_cents.json()["code"]) == (400, "invalid")
    assert enough.status_code == 201


@pytest.mark.parametrize("trait", ["unavailable", "deleted"])
def test_an_unavailable_or_deleted_dish_is_refused(customer_app, kitchen, stripe_double, trait):
    dish = DishFactory(kitchen=kitchen, **{trait: True})

    response = place(customer_app, order_body((dish, 1)))

    assert response.status_code == 409
    assert response.json()["code"] == "dish_unavailable"


def test_sold_out_names_the_dish_and_reserves_nothing(customer_app, dish, other_dish, stripe_double):
    Dish.objects.filter(pk=other_dish.pk).update(portions_left=1)

    response = place(customer_app, order_body((dish, 2), (other_dish, 2)))

    assert response.status_code == 409
    assert response.json()["code"] == "sold_out"
    assert response.json()["dish_id"] == str(other_dish.pk)
    assert response.json()["portions_left"] == 1
    assert (_left(dish), _left(other_dish)) == (10, 1)
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()
    assert stripe_double.count("payment_intents") == 0


@pytest.mark.parametrize("state", ["paused", "unapproved", "outside_hours", "at_its_limit"])
def test_a_closed_kitchen_takes_no_order(customer_app, make_client, stripe_double, state):
    from tests.factories.accounts import UserFactory

    kitchen = KitchenFactory(**({"always_open": True} if state != "outside_hours" else {}))
    if state == "outside_hours":  # open on no day at all but Monday from 12:00 to 12:01
        OpeningHoursFactory(kitchen=kitchen, weekday=0, opens_minute=12 * 60, closes_minute=12 * 60 + 1)
    dish = DishFactory(kitchen=kitchen)
    if state == "at_its_limit":
        kitchen.max_open_orders = 1
        kitchen.save()
        assert place(make_client(UserFactory()), order_body((dish, 1))).status_code == 201
    else:
        kitchen.is_paused = state == "paused"
        kitchen.is_approved = state != "unapproved"
        kitchen.save()

    response = place(customer_app, order_body((dish, 1)))

    assert response.status_code == 409
    assert response.json()["code"] == "chef_closed"
    assert _left(dish) == (9 if state == "at_its_limit" else 10)


def test_an_address_outside_the_delivery_radius_is_refused(customer_app, dish, stripe_double):
    response = place(customer_app, order_body((dish, 1), lat=FAR[0], lng=FAR[1]))

    assert response.status_code == 400
    assert response.json()["code"] == "out_of_delivery_area"
    assert _left(dish) == 10


@pytest.mark.parametrize("role", ["chef", "courier"])
def test_only_customers_order(make_client, dish, stripe_double, role):
    from tests.factories.accounts import UserFactory

    response = place(make_client(UserFactory(**{role: True})), order_body((dish, 1)))

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert _left(dish) == 10


def test_stripe_unreachable_keeps_nothing_and_the_same_key_works_later(customer_app, dish, stripe_double, settings):
    body = order_body((dish, 2))
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    down = place(customer_app, body, key="while-stripe-is-down")

    assert down.status_code == 503
    assert down.json()["code"] == "payment_provider_unavailable"
    assert int(down["Retry-After"]) >= 1
    assert not Order.objects.exists()
    assert _left(dish) == 10

    settings.STRIPE_API_BASE = stripe_double.base
    up = place(customer_app, body, key="while-stripe-is-down")

    assert up.status_code == 201
    assert up.json()["payment"]["client_secret"]
    assert _left(dish) == 8
    assert Payment.objects.filter(reference=up.json()["id"]).count() == 1


def test_a_checkout_costs_a_fixed_number_of_queries_and_answers_as_it_reads_back(
    customer_app, dish, other_dish, stripe_double, committed, django_assert_num_queries
):
    # user; dishes with their kitchen and whether it is open; the order's transaction
    # (begin, order, lines, timeline, payment row, 2 reservations, commit: no
    # savepoint, no read before writing); its intent recorded (begin, lock, one
    # UPDATE, commit). The stock reaches Redis as the reservations returned it, and
    # nothing is read back for the answer.
    with committed(), django_assert_num_queries(14):
        placed = place(customer_app, order_body((dish, 2), (other_dish, 1)))

    assert placed.status_code == 201, placed.json()
    assert customer_app.get(reverse("v1:order", args=[placed.json()["id"]])).json() == placed.json()


def test_a_checkout_with_the_demo_gateway_costs_a_fixed_number_of_queries(
    customer_app, dish, settings, django_assert_num_queries
):
    settings.PAYMENTS_DEMO = True

    # user; dishes; the order's transaction (begin, order, lines, timeline, payment
    # row, reservation, commit); the authorization recorded (begin, lock, UPDATE, its
    # audit row, the outbox row for PaymentAuthorized, commit). After commit the
    # outbox row goes to the broker with no query: it was written marked relayed.
    with django_assert_num_queries(15):
        placed = place(customer_app, order_body((dish, 2)))

    assert placed.status_code == 201, placed.json()
    assert placed.json()["payment"]["payment_intent_id"].startswith("pi_demo_")
    assert Payment.objects.get(reference=placed.json()["id"]).status == "authorized"  # the demo card, at once
    assert _left(dish) == 8
    [message] = OutboxMessage.objects.filter(event_type=PaymentAuthorized.type_name())
    assert message.relayed_at is not None
