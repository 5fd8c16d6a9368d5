"""``POST``/``DELETE /api/v1/orders/{id}/share``: the customer makes a live link to
their order, gets the same one again, revokes it; nobody else can."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from apps.orders.models import Actor, OrderStatus
from apps.orders.services import order_customer_erased
from apps.orders.services.status import order_lock, order_move_locked
from tests.factories.accounts import UserFactory
from tests.factories.orders import OrderFactory

pytestmark = pytest.mark.django_db


def _share_url(order) -> str:
    return f"/api/v1/orders/{order.pk}/share"


def end(order, status: str = OrderStatus.DELIVERED) -> None:
    """The order ends now (delivered from picked up, or cancelled)."""
    with transaction.atomic():
        order_move_locked(order_lock(order_id=order.pk), status, actor=Actor.SYSTEM, notify=False)


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1]


def test_the_first_share_makes_a_link_and_asking_again_gives_the_same(make_client):
    order = OrderFactory(accepted=True)
    client = make_client(order.customer)

    first = client.post(_share_url(order))
    again = client.post(_share_url(order))

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert first.json()["expires_at"] is None  # the order still runs
    url = first.json()["url"]
    parts = urlsplit(url)  # the request's own host, behind the router's https
    assert (parts.scheme, parts.hostname, parts.path[:3]) == ("https", "testserver", "/t/")
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 22  # at least 128 random bits, url-safe base64
    assert client.get("/" + _path(url)).status_code == 200


def test_links_of_two_orders_differ(make_client):
    customer = UserFactory()
    first, second = OrderFactory(customer=customer), OrderFactory(customer=customer)
    client = make_client(customer)

    assert client.post(_share_url(first)).json()["url"] != client.post(_share_url(second)).json()["url"]


def test_the_link_base_is_public_base_url_when_set(make_client, settings):
    settings.PUBLIC_BASE_URL = "https://foodiefast.example"
    order = OrderFactory()

    answer = make_client(order.customer).post(_share_url(order))

    assert answer.json()["url"].startswith("https://foodiefast.example/t/")


def test_revoking_makes_the_page_404_and_a_new_share_makes_a_new_link(make_client):
    order = OrderFactory(accepted=True)
    client = make_client(order.customer)
    old = client.post(_share_url(order)).json()["url"]

    revoked = client.delete(_share_url(order))

    assert revoked.status_code == 204
    page = make_client().get("/" + _path(old))
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
    assert make_client().get("/" + _path(old) + "/stream").status_code == 404
    assert client.delete(_share_url(order)).status_code == 204  # again: nothing to revoke
    renewed = client.post(_share_url(order))
    assert renewed.status_code == 201
    assert renewed.json()["url"] != old


def test_other_people_get_404_and_other_roles_403(make_client):
    order = OrderFactory()

    stranger = make_client(UserFactory())
    assert stranger.post(_share_url(order)).status_code == 404
    assert stranger.delete(_share_url(order)).status_code == 404
    assert stranger.post(_share_url(order)).json()["code"] == "not_found"
    assert make_client(UserFactory(courier=True)).post(_share_url(order)).status_code == 403
    assert make_client().post(_share_url(order)).status_code == 401
    assert make_client(order.customer).post(f"/api/v1/orders/{order.customer.pk}/share").status_code == 404


def test_the_share_endpoints_are_throttled_per_customer(make_client, settings):
    settings.SHARE_REQUESTS_PER_MINUTE = 3
    order = OrderFactory()
    client = make_client(order.customer)

    answers = [client.post(_share_url(order)).status_code for _ in range(3)]
    throttled = client.post(_share_url(order))

    assert answers == [201, 200, 200]
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) >= 1
    other = OrderFactory()
    assert make_client(other.customer).post(_share_url(other)).status_code == 201  # others are not


def test_the_page_and_its_stream_are_throttled_per_address(make_client, settings):
    settings.SHARE_PAGE_REQUESTS_PER_MINUTE = 2
    order = OrderFactory()
    path = "/" + _path(make_client(order.customer).post(_share_url(order)).json()["url"])
    visitor = make_client()

    assert [visitor.get(path).status_code, visitor.get(path + "/stream").status_code] == [200, 200]
    page, stream = visitor.get(path), visitor.get(path + "/stream")

    assert page.status_code == 429
    assert page["Content-Type"].startswith("text/html")
    assert int(page["Retry-After"]) >= 1
    assert (stream.status_code, stream.json()["code"]) == (429, "throttled")
    assert make_client().get(path, REMOTE_ADDR="10.1.2.3").status_code == 200  # other addresses are not


def test_the_link_expires_one_hour_after_the_order_ends(make_client):
    order = OrderFactory(status=OrderStatus.PICKED_UP)
    client = make_client(order.customer)
    url = client.post(_share_url(order)).json()["url"]
    page = "/" + _path(url)
    ended = timezone.now().replace(microsecond=0) + dt.timedelta(minutes=5)

    with time_machine.travel(ended, tick=False):
        end(order)
        answer = client.post(_share_url(order))
        assert (answer.status_code, answer.json()["url"]) == (200, url)
        assert answer.json()["expires_at"] == (ended + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    with time_machine.travel(ended + dt.timedelta(minutes=59), tick=False):
        assert make_client().get(page).status_code == 200
    with time_machine.travel(ended + dt.timedelta(hours=1), tick=False):
        gone = make_client().get(page)
        stream = make_client().get(page + "/stream")

    assert gone.status_code == 410
    assert gone["Content-Type"].startswith("text/html")
    assert "expired" in gone.content.decode()
    assert (stream.status_code, stream.json()["code"]) == (410, "link_expired")


def test_an_unknown_link_is_a_404_page(make_client):
    answer = make_client().get("/t/" + "x" * 43)

    assert answer.status_code == 404
    assert answer["Content-Type"].startswith("text/html")
    assert "does not exist" in answer.content.decode()
    assert answer["X-Robots-Tag"].startswith("noindex")
    assert "script-src 'self'" in answer["Content-Security-Policy"]


def test_an_erased_customer_s_links_stop_working(make_client):
    order = OrderFactory(accepted=True)
    other = OrderFactory(accepted=True)
    mine = make_client(order.customer).post(_share_url(order)).json()["url"]
    theirs = make_client(other.customer).post(_share_url(other)).json()["url"]

    order_customer_erased(user_id=str(order.customer.pk))

    assert make_client().get("/" + _path(mine)).status_code == 404
    assert make_client().get("/" + _path(theirs)).status_code == 200
