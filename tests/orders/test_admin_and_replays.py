"""Staff's support cancel in the admin, a replay taking over from a request that died
before starting the payment, and the client secret kept out of the logs."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.menus.models import Dish
from apps.orders.models import Order
from apps.orders.services import order_place
from apps.orders.services.checkout import _price, _record, _reserve, order_fingerprint
from apps.payments.models import Payment
from tests.factories.accounts import UserFactory
from tests.orders.conftest import order_body, place

pytestmark = pytest.mark.django_db


def test_staff_see_an_order_with_its_timeline_and_cancel_it_with_a_refund(client, chef_app, paid_order, stripe_double):
    chef_app.post(reverse("v1:chef-order-accept", args=[paid_order.pk]), format="json")
    client.force_login(UserFactory(staff=True))

    page = client.get(reverse("admin:orders_order_change", args=[paid_order.pk]), secure=True)
    cancel = client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "cancel_and_refund", "_selected_action": [str(paid_order.pk)]},
        secure=True,
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert "Boeuf bourguignon" in html and "accepted" in html
    assert 'name="total_cents"' not in html  # read-only
    assert cancel.status_code == 302
    order = Order.objects.get(pk=paid_order.pk)
    assert (order.status, order.cancelled_by, order.money_outcome) == ("cancelled", "staff", "refunded")
    assert Payment.objects.get(reference=str(order.pk)).refunded_cents == order.total_cents


def test_a_chef_does_not_see_the_orders_admin(make_client, client, kitchen):
    client.force_login(kitchen.chef)

    assert client.get(reverse("admin:orders_order_changelist"), secure=True).status_code == 403


def test_a_replay_starts_the_payment_when_the_first_request_died_before_it(customer, dish, stripe_double):
    body = order_body((dish, 1))
    items = [(item["dish_id"], item["quantity"]) for item in body["items"]]
    fingerprint = order_fingerprint(items=items, delivery=body["delivery"], tip_cents=0)
    # The first request committed its order, payment row and reservation, then died
    # before asking Stripe; its lease on starting the payment ran out.
    priced = _price(items=items, delivery=body["delivery"], tip_cents=0)
    with transaction.atomic():
        first, _ = _record(
            customer=customer, key="k", request_fingerprint=fingerprint, priced=priced, delivery=body["delivery"]
        )
        _reserve(first, priced.lines)
    Order.objects.filter(pk=first.pk).update(payment_claimed_until=timezone.now() - dt.timedelta(seconds=1))

    replay = order_place(customer=customer, idempotency_key="k", items=items, delivery=body["delivery"])

    assert replay.order.pk == first.pk
    assert replay.checkout.client_secret
    assert stripe_double.count("payment_intents") == 1
    assert Dish.objects.get(pk=dish.pk).portions_left == 9


def test_the_client_secret_never_reaches_the_logs(customer_app, dish, stripe_double, caplog):
    caplog.set_level(logging.DEBUG)

    order = place(customer_app, order_body((dish, 1))).json()
    customer_app.get(reverse("v1:order", args=[order["id"]]))

    secret = order["payment"]["client_secret"]
    assert secret
    assert secret not in caplog.text
    assert secret.split("_secret_")[-1] not in caplog.text
