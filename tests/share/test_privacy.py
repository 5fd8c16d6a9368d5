"""What a shared link shows anyone who has it: the page and its stream carry none of
the customer's personal data, rounded points, the courier hidden near the door; and
the page is locked down (CSP with no inline script, no referrer, not indexed)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from apps.tracking.channel import channel_publish
from tests.factories.accounts import UserFactory
from tests.factories.orders import OrderFactory

pytestmark = pytest.mark.django_db

# The drop-off of OrderFactory (48.8566, 2.3522); 150 m north of it, and 1.5 km.
NEAR_DOOR = {"lat": 48.85795, "lng": 2.3522}
FAR = {"lat": 48.8701, "lng": 2.3400}


@pytest.fixture
def order():
    customer = UserFactory(full_name="Margaux Delacroix-Vidal", phone="+33 6 98 76 54 32")
    return OrderFactory(
        accepted=True,
        customer=customer,
        delivery_address="7 impasse des Lilas, 75011 Paris",
        delivery_instructions="Digicode 4821B, ask for Margaux",
        delivery_phone="+33 6 11 22 33 44",
    )


@pytest.fixture
def link(order, make_client) -> str:
    url = make_client(order.customer).post(f"/api/v1/orders/{order.pk}/share").json()["url"]
    return "/t/" + url.rsplit("/", 1)[1]


def _personal_data(order) -> list[str]:
    customer = order.customer
    return [
        customer.full_name,
        *customer.full_name.split(" "),
        customer.email,
        customer.phone,
        order.delivery_address,
        "impasse des Lilas",
        order.delivery_instructions,
        "4821B",
        order.delivery_phone,
        str(order.delivery_lat),
        str(order.delivery_lng),
    ]


def _location(**position) -> dict:
    return {"updated_at": "2026-01-01T12:00:00Z", "eta_minutes": 6, "estimated_arrival_at": None, **position}


def _stream_events(client, link: str) -> list[dict]:
    answer = client.get(link + "/stream")
    assert answer.status_code == 200
    events = []
    for block in answer.content.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        if "event" in fields:
            events.append({"event": fields["event"], "data": json.loads(fields["data"])})
    return events


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_page_shows_no_personal_data_and_rounded_points(order, link, make_client):
    page = make_client().get(link)

    html = page.content.decode()
    assert page.status_code == 200
    for value in _personal_data(order):
        assert value not in html, value
    assert 'data-dropoff-lat="48.857"' in html
    assert 'data-dropoff-lng="2.352"' in html
    kitchen = order.kitchen
    assert f'data-pickup-lat="{round(kitchen.lat, 3)}"' in html
    assert kitchen.display_name in html
    for step in ("Order placed", "Paid, waiting for the kitchen", "The kitchen is cooking", "On the way", "Delivered"):
        assert step in html  # text for every status, not only a colour
    assert "(now)" in html


def test_the_page_reads_the_link_in_two_queries(link, make_client, django_assert_num_queries):
    visitor = make_client()

    with django_assert_num_queries(3):  # the link, the timeline, the delivery (none yet)
        assert visitor.get(link).status_code == 200


def test_the_page_has_a_strict_csp_no_inline_script_or_style_no_referrer_and_no_indexing(link, make_client):
    page = make_client().get(link)

    csp = dict(part.strip().split(" ", 1) for part in page["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert "https://tile.openstreetmap.org" in csp["img-src"]
    assert csp["connect-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert "unsafe" not in page["Content-Security-Policy"]
    assert page["Referrer-Policy"] == "no-referrer"
    assert page["X-Robots-Tag"].startswith("noindex")
    parsed = _Tags()
    parsed.feed(page.content.decode())
    scripts = [attrs for tag, attrs in parsed.tags if tag == "script"]
    assert len(scripts) == 2 and all(attrs.get("src", "").startswith("/static/") for attrs in scripts)
    assert not [tag for tag, _ in parsed.tags if tag == "style"]
    assert not [tag for tag, attrs in parsed.tags if "style" in attrs or any(a.startswith("on") for a in attrs)]


def test_the_csp_allows_images_from_the_configured_tile_server(link, make_client, settings):
    settings.MAP_TILE_URL = "https://{s}.tiles.example.net/{z}/{x}/{y}.png"

    page = make_client().get(link)

    assert "https://*.tiles.example.net" in page["Content-Security-Policy"]
    assert 'data-tile-url="https://{s}.tiles.example.net/{z}/{x}/{y}.png"' in page.content.decode()


def test_the_stream_shows_the_courier_far_away_with_only_allowed_fields(order, link, make_client):
    data = {**_location(**FAR), "address": order.delivery_address, "phone": order.delivery_phone}
    channel_publish(reference=str(order.pk), kind="location", data=data)

    events = _stream_events(make_client(), link)

    assert [event["event"] for event in events] == ["status", "location"]
    assert set(events[0]["data"]) == {"status", "at"}
    assert events[1]["data"] == {**_location(**FAR), "arriving": False}


def test_the_courier_is_hidden_within_200_m_of_the_drop_off(order, link, make_client):
    channel_publish(reference=str(order.pk), kind="location", data=_location(**NEAR_DOOR))
    visitor = make_client()

    events = _stream_events(visitor, link)
    html = visitor.get(link).content.decode()

    assert events[1]["data"]["arriving"] is True
    assert events[1]["data"]["lat"] is None and events[1]["data"]["lng"] is None
    assert events[1]["data"]["eta_minutes"] == 6
    assert str(NEAR_DOOR["lat"]) not in html
    assert 'data-courier-arriving="true"' in html


def test_the_stream_and_page_carry_none_of_the_customers_data(order, link, make_client):
    channel_publish(reference=str(order.pk), kind="location", data=_location(**FAR))
    channel_publish(reference=str(order.pk), kind="status", data={"status": "accepted", "at": "x", "name": "Margaux"})
    visitor = make_client()

    body = visitor.get(link + "/stream", HTTP_LAST_EVENT_ID="0-1").content.decode()
    body += visitor.get(link).content.decode()

    for value in _personal_data(order):
        assert value not in body, value
    assert not re.search(r"Margaux", body)


def test_an_ended_order_answers_204_on_the_stream_and_says_so_on_the_page(make_client):
    order = OrderFactory(status="cancelled")
    url = make_client(order.customer).post(f"/api/v1/orders/{order.pk}/share").json()["url"]
    link = "/t/" + url.rsplit("/", 1)[1]

    assert make_client().get(link + "/stream").status_code == 204
    page = make_client().get(link).content.decode()
    assert "This order was cancelled" in page
    assert "This page no longer updates" in page


def test_the_page_speaks_the_visitor_s_language(link, make_client):
    french = make_client().get(link, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9").content.decode()
    english = make_client().get(link, HTTP_ACCEPT_LANGUAGE="en-US").content.decode()

    assert "En cuisine" in french and "(en cours)" in french
    assert "The kitchen is cooking" in english and "(now)" in english
    assert "Arrivée dans environ {minutes} min" in french  # the script fills the minutes in
