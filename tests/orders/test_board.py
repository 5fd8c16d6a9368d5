"""The order board in the admin: a chef works their kitchen's orders of the day from
it (accept with prep minutes, reject with a reason, ready) through the same services
as the chef API; staff see every kitchen's board and cancel any order with a refund."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.orders.models import Order
from apps.payments.models import Payment
from tests.factories.accounts import UserFactory
from tests.factories.chefs import KitchenFactory
from tests.factories.menus import DishFactory
from tests.orders.conftest import order_body, place

pytestmark = pytest.mark.django_db

BOARD = "admin:orders_board"


@pytest.fixture
def chef_admin(client, kitchen):
    client.force_login(kitchen.chef)
    return client


def board(client, **params) -> str:
    response = client.get(reverse(BOARD), params, secure=True)
    assert response.status_code == 200
    return response.content.decode()


def column(html: str, slug: str) -> str:
    """The HTML of one column of the board."""
    match = re.search(rf'data-column="{slug}">(.*?)</section>', html, re.S)
    assert match, slug
    return match.group(1)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


def test_a_chef_sees_a_paid_order_to_accept_with_lines_allergens_deadline_and_no_address(chef_admin, paid_order):
    html = board(chef_admin)

    to_accept = column(html, "to-accept")
    assert str(paid_order.pk) in to_accept
    assert "2 \u00d7</span> Boeuf bourguignon" in to_accept
    assert "Allergens: Celery, Sulphur dioxide and sulphites" in to_accept
    assert "Code 1234, 3rd floor" in to_accept
    assert paid_order.first_name in to_accept
    assert re.search(r'data-deadline="[0-9T:.+-]+"', to_accept)
    assert "rue de Rivoli" not in html and "+33" not in html and "pi_" not in html
    assert 'name="prep_minutes"' in to_accept and f'value="{paid_order.kitchen.prep_minutes}"' in to_accept
    assert re.search(r'<script src="/static/orders/board\.[0-9a-f]+\.js" defer>', html)
    assert "<script>" not in html  # no inline script


def test_times_on_the_board_are_paris_time(chef_admin, paid_order):
    paris = paid_order.accept_by.astimezone(ZoneInfo("Europe/Paris"))
    html = board(chef_admin)

    assert f"Accept by {paris:%H:%M}" in html
    assert f'data-deadline="{paris.isoformat()}"' in html


def test_the_fragment_the_script_polls_has_the_columns_alone(chef_admin, paid_order):
    response = chef_admin.get(reverse("admin:orders_board_fragment"), secure=True)

    html = response.content.decode()
    assert response.status_code == 200
    assert str(paid_order.pk) in column(html, "to-accept")
    assert "<html" not in html and "no-store" in response["Cache-Control"]


def test_accept_with_prep_minutes_captures_then_ready(chef_admin, paid_order, stripe_double):
    accepted = chef_admin.post(
        reverse("admin:orders_board_accept", args=[paid_order.pk]), {"prep_minutes": "40"}, secure=True
    )

    assert accepted.status_code == 302
    order = Order.objects.get(pk=paid_order.pk)
    assert (order.status, order.prep_minutes) == ("accepted", 40)
    assert Payment.objects.get(reference=str(order.pk)).captured_cents == order.total_cents
    assert str(order.pk) in column(board(chef_admin), "cooking")

    ready = chef_admin.post(reverse("admin:orders_board_ready", args=[paid_order.pk]), secure=True)
    assert ready.status_code == 302
    assert Order.objects.get(pk=paid_order.pk).status == "ready_for_pickup"
    assert str(order.pk) in column(board(chef_admin), "ready")


def test_accept_without_prep_minutes_takes_the_kitchen_s(chef_admin, paid_order, stripe_double):
    chef_admin.post(reverse("admin:orders_board_accept", args=[paid_order.pk]), {"prep_minutes": ""}, secure=True)

    assert Order.objects.get(pk=paid_order.pk).prep_minutes == paid_order.kitchen.prep_minutes


def test_reject_needs_a_reason_then_voids_the_hold(chef_admin, paid_order, stripe_double):
    url = reverse("admin:orders_board_reject", args=[paid_order.pk])
    without = chef_admin.post(url, {"reason": "  "}, secure=True, follow=True)

    assert Order.objects.get(pk=paid_order.pk).status == "paid"
    assert any("reason" in message for message in messages_of(without))

    chef_admin.post(url, {"reason": "Out of beef"}, secure=True)
    order = Order.objects.get(pk=paid_order.pk)
    assert (order.status, order.cancellation_reason, order.money_outcome) == ("cancelled", "Out of beef", "voided")
    assert "Out of beef" in column(board(chef_admin), "done")


def test_an_invalid_move_and_an_unreachable_provider_show_as_messages(chef_admin, paid_order, stripe_double, settings):
    early = chef_admin.post(reverse("admin:orders_board_ready", args=[paid_order.pk]), secure=True, follow=True)
    [message] = messages_of(early)
    assert "This needs an order that is “Accepted”; this one is “Paid (authorized)”." in message
    assert Order.objects.get(pk=paid_order.pk).status == "paid"

    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    down = chef_admin.post(reverse("admin:orders_board_accept", args=[paid_order.pk]), secure=True, follow=True)

    assert down.status_code == 200
    [message] = messages_of(down)
    assert "payment" in message.lower()
    assert Order.objects.get(pk=paid_order.pk).status == "paid"
    assert str(paid_order.pk) in column(down.content.decode(), "to-accept")


def test_another_chef_neither_sees_nor_works_the_order(client, paid_order, stripe_double):
    other = KitchenFactory(always_open=True)
    DishFactory(kitchen=other)
    client.force_login(other.chef)

    html = board(client)
    accept = client.post(reverse("admin:orders_board_accept", args=[paid_order.pk]), secure=True)
    reject = client.post(reverse("admin:orders_board_reject", args=[paid_order.pk]), {"reason": "x"}, secure=True)

    assert str(paid_order.pk) not in html
    assert (accept.status_code, reject.status_code) == (404, 404)
    assert Order.objects.get(pk=paid_order.pk).status == "paid"


def test_an_unpaid_order_is_not_on_the_board(chef_admin, customer_app, dish, stripe_double):
    placed = place(customer_app, order_body((dish, 1))).json()

    assert placed["id"] not in board(chef_admin)


def test_staff_see_every_kitchen_and_filter_one_without_acting_for_the_chef(client, paid_order):
    other = KitchenFactory(always_open=True, display_name="Chez Autre")
    client.force_login(UserFactory(staff=True))

    everyone = board(client)
    filtered = board(client, kitchen=str(other.pk))
    accept = client.post(reverse("admin:orders_board_accept", args=[paid_order.pk]), secure=True)

    assert str(paid_order.pk) in everyone and 'name="prep_minutes"' not in everyone
    assert str(paid_order.pk) not in filtered
    assert str(paid_order.pk) in board(client, kitchen=str(paid_order.kitchen_id))
    assert accept.status_code == 403
    assert Order.objects.get(pk=paid_order.pk).status == "paid"


def test_the_board_is_on_the_chef_s_admin_index(chef_admin):
    index = chef_admin.get(reverse("admin:index"), secure=True).content.decode()

    assert f'href="{reverse(BOARD)}"' in index and "Order board" in index


def test_staff_cancel_an_accepted_order_from_its_page_with_a_reason_and_it_is_refunded(
    client, chef_app, paid_order, stripe_double
):
    chef_app.post(reverse("v1:chef-order-accept", args=[paid_order.pk]), format="json")
    client.force_login(UserFactory(staff=True))
    cancel_url = reverse("admin:orders_order_cancel", args=[paid_order.pk])

    page = client.get(reverse("admin:orders_order_change", args=[paid_order.pk]), secure=True).content.decode()
    without = client.post(cancel_url, {"reason": ""}, secure=True)
    assert without.status_code == 200 and Order.objects.get(pk=paid_order.pk).status == "accepted"
    done = client.post(cancel_url, {"reason": "Customer found a hair"}, secure=True, follow=True)

    assert f'href="{cancel_url}"' in page
    order = Order.objects.get(pk=paid_order.pk)
    assert (order.status, order.cancellation_reason, order.money_outcome) == (
        "cancelled",
        "Customer found a hair",
        "refunded",
    )
    assert Payment.objects.get(reference=str(order.pk)).refunded_cents == order.total_cents
    assert any("Refunded" in message for message in messages_of(done))


def test_a_chef_cannot_use_the_staff_cancel(chef_admin, paid_order):
    response = chef_admin.post(
        reverse("admin:orders_order_cancel", args=[paid_order.pk]), {"reason": "mine"}, secure=True
    )

    assert response.status_code == 403
    assert Order.objects.get(pk=paid_order.pk).status == "paid"


def test_an_open_order_of_yesterday_stays_and_a_finished_one_of_yesterday_goes(chef_admin, placed, pay):
    open_one = pay(placed()["id"])
    finished = pay(placed()["id"])
    Order.objects.filter(pk=finished.pk).update(status="cancelled", cancellation_reason="Closed early")
    two_days_ago = timezone.now() - dt.timedelta(days=2)
    Order.objects.filter(pk__in=[open_one.pk, finished.pk]).update(created_at=two_days_ago, updated_at=two_days_ago)

    html = board(chef_admin)

    assert str(open_one.pk) in column(html, "to-accept")
    assert str(finished.pk) not in html
