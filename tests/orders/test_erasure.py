"""DELETE /me of a customer: their orders stay for accounting, anonymised."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.orders.models import Order
from tests.factories.orders import OrderFactory

pytestmark = pytest.mark.django_db


def test_an_erased_customer_s_orders_stay_without_personal_data(customer_app, customer, dish, committed):
    order = OrderFactory(customer=customer, dish=dish, paid=True, customer_name="Camille Martin")
    someone_else = OrderFactory(dish=dish, customer_name="Alex Durand")

    with committed():
        assert customer_app.delete(reverse("v1:me")).status_code == 204

    order = Order.objects.get(pk=order.pk)
    assert order.customer_name == ""
    assert order.delivery_address == "(erased)"
    assert order.delivery_instructions == ""
    assert order.delivery_phone == ""
    assert (order.delivery_lat, order.delivery_lng) == (48.86, 2.35)
    assert (order.status, order.total_cents) == ("paid", someone_else.total_cents)
    assert Order.objects.get(pk=someone_else.pk).customer_name == "Alex Durand"
