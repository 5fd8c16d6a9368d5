"""GET /orders and /chef/orders: the caller's orders only, newest first, paginated, in a
constant number of queries; the chef sees no address, phone or payment."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.orders.models import OrderStatus
from tests.factories.accounts import UserFactory
from tests.factories.chefs import KitchenFactory
from tests.factories.menus import DishFactory
from tests.factories.orders import OrderFactory

pytestmark = pytest.mark.django_db


def _orders(n, **kwargs):
    return [OrderFactory(**kwargs) for _ in range(n)]


def test_a_customer_lists_their_own_orders_newest_first(customer_app, customer, kitchen, dish):
    mine = _orders(3, customer=customer, dish=dish)
    OrderFactory(dish=dish)  # someone else's

    response = customer_app.get(reverse("v1:orders"), {"page_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [o["id"] for o in body["results"]] == [str(mine[2].pk), str(mine[1].pk)]
    assert body["next"] is not None
    assert body["results"][0]["payment"] is None  # no payment was started for these
    assert customer_app.get(body["next"]).json()["results"][0]["id"] == str(mine[0].pk)


@pytest.mark.parametrize("role", ["chef", "courier"])
def test_only_customers_list_orders(make_client, role):
    response = make_client(UserFactory(**{role: True})).get(reverse("v1:orders"))

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_the_customer_list_costs_the_same_queries_for_10_or_200_orders(
    customer_app, customer, dish, django_assert_num_queries
):
    OrderFactory.create_bulk(10, customer=customer, dish=dish)
    with django_assert_num_queries(6):  # user, count, orders, lines, timeline, payments
        small = customer_app.get(reverse("v1:orders"), {"page_size": 100})
    OrderFactory.create_bulk(190, customer=customer, dish=dish)
    with django_assert_num_queries(6):
        large = customer_app.get(reverse("v1:orders"), {"page_size": 100})
    with django_assert_num_queries(6):
        last = customer_app.get(reverse("v1:orders"), {"page_size": 100, "page": 2})

    assert (len(small.json()["results"]), len(large.json()["results"])) == (10, 100)
    assert large.json()["count"] == 200
    assert len(last.json()["results"]) == 100


def test_the_chef_list_costs_the_same_queries_for_10_or_200_orders(chef_app, dish, django_assert_num_queries):
    customer = UserFactory()
    OrderFactory.create_bulk(10, customer=customer, dish=dish, paid=True)
    with django_assert_num_queries(5):  # user, count, orders, lines, timeline
        small = chef_app.get(reverse("v1:chef-orders"), {"page_size": 100})
    OrderFactory.create_bulk(190, customer=customer, dish=dish, paid=True)
    with django_assert_num_queries(5):
        large = chef_app.get(reverse("v1:chef-orders"), {"page_size": 100})

    assert (len(small.json()["results"]), len(large.json()["results"])) == (10, 100)
    assert large.json()["count"] == 200


def test_the_chef_sees_lines_allergens_instructions_first_name_and_deadline_only(chef_app, dish):
    order = OrderFactory(dish=dish, paid=True, customer_name="Camille Martin")

    (shown,) = chef_app.get(reverse("v1:chef-orders")).json()["results"]

    assert shown["id"] == str(order.pk)
    assert shown["customer"] == {"first_name": "Camille"}
    assert shown["delivery"] == {"instructions": "Code 1234"}
    assert shown["items"][0]["allergens"] == ["celery", "sulphites"]
    assert shown["accept_by"] is not None
    assert "payment" not in shown
    text = str(shown)
    for private in ("rue de Rivoli", "+33", "Martin", "client_secret", "pi_"):
        assert private not in text


def test_the_chef_sees_only_their_kitchen_s_orders_from_paid_on(chef_app, dish):
    waiting = OrderFactory(dish=dish)
    paid = OrderFactory(dish=dish, paid=True)
    accepted = OrderFactory(dish=dish, accepted=True)
    OrderFactory(dish=DishFactory(kitchen=KitchenFactory()), paid=True)  # another kitchen's
    OrderFactory(dish=dish, status=OrderStatus.CANCELLED)  # died unpaid: never the chef's

    listed = chef_app.get(reverse("v1:chef-orders")).json()["results"]
    only_paid = chef_app.get(reverse("v1:chef-orders"), {"status": "paid"}).json()["results"]
    unknown = chef_app.get(reverse("v1:chef-orders"), {"status": "pending_payment"})

    assert {o["id"] for o in listed} == {str(paid.pk), str(accepted.pk)}
    assert str(waiting.pk) not in {o["id"] for o in listed}
    assert [o["id"] for o in only_paid] == [str(paid.pk)]
    assert (unknown.status_code, unknown.json()["code"]) == (400, "invalid")


def test_customers_may_not_use_the_chef_order_api(customer_app):
    response = customer_app.get(reverse("v1:chef-orders"))

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
