"""The shared live tracking page in a real headless browser (Debian's chromium driven
by Playwright, never a browser download) against the Procfile's web and worker: a
customer shares their order; a courier carries it through the courier API; someone
with the link, and no account, sees the status,
the kitchen, the map's points and route (the tiles cannot load here), the courier
moving within 2 s of each ping, the courier hidden at the door, then "delivered" and
a page that stops; an hour later (seconds here) the link shows the 410 page. Neither
the page nor its stream carries the customer's personal data, and the page runs with
no console error and no CSP violation."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.ordering import DROP_OFF, HTTPS, KITCHEN, open_kitchen, pay_with_webhook, place_order, signed_in
from tests.payments.conftest import StripeDouble
from tests.processes import start_web, wait_for
from tests.tracking_stream.sse import Sse

CHROMIUM = "/usr/bin/chromium"
# API.md: the page follows a ping within 2 s (the stream's contract deadline).
PING_SHOWS_WITHIN_MS = 2_000
# The link lives this long after the order ends (an hour in production).
LINK_SECONDS_AFTER_END = 6
# A tile server that cannot answer: the page must still show its points and route.
TILES = "https://tiles.invalid/{z}/{x}/{y}.png"
CUSTOMER = {"full_name": "Margaux Delacroix", "address": DROP_OFF["address"], "phone": "+33 6 11 22 33 44"}
INSTRUCTIONS = "Digicode 4821B, 3rd floor"
COURIER_NAME = "Karim Benali"


@pytest.fixture(scope="module")
def share_web(released, worker, tmp_path_factory):
    """A web process of the deployment whose links expire seconds after the end."""
    env = {
        **released,
        "SHARE_LINK_HOURS_AFTER_END": str(LINK_SECONDS_AFTER_END / 3600),
        "MAP_TILE_URL": TILES,
        "TRACKING_STREAM_HEARTBEAT_SECONDS": "1",
    }
    process = start_web(env, log_path=tmp_path_factory.mktemp("share-web") / "log")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def screenshots():
    """A temporary folder for the screenshots (``SHARE_SCREENSHOTS`` keeps them elsewhere)."""
    kept = os.environ.get("SHARE_SCREENSHOTS")
    folder = Path(kept) if kept else Path(tempfile.mkdtemp(prefix="share-page-"))
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    if not kept:
        shutil.rmtree(folder, ignore_errors=True)


def _order_status(base: str, customer: dict, order_id: str) -> str:
    return requests.get(f"{base}/api/v1/orders/{order_id}", headers=customer, timeout=10).json()["status"]


def _accepted_order(base: str, kitchen: dict, localstripe_server: str) -> tuple[dict, str]:
    customer = signed_in(base, "customer", CUSTOMER["full_name"])
    email = customer.pop("email")
    assert requests.patch(f"{base}/api/v1/me", json={"phone": CUSTOMER["phone"]}, headers=customer, timeout=10).ok
    delivery = {**DROP_OFF, "instructions": INSTRUCTIONS, "phone": CUSTOMER["phone"]}
    placed = place_order(
        base, customer, {"items": [{"dish_id": kitchen["dish_id"], "quantity": 1}], "delivery": delivery}
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    pay_with_webhook(base, StripeDouble(localstripe_server), placed.json()["payment"]["payment_intent_id"])
    assert wait_for(lambda: _order_status(base, customer, order_id) == "paid", timeout=15)
    accepted = requests.post(
        f"{base}/api/v1/chef/orders/{order_id}/accept", json={"prep_minutes": 15}, headers=kitchen["chef"], timeout=30
    )
    assert accepted.status_code == 200, accepted.text
    return {**customer, "email": email}, order_id


def _tab(browser, base: str) -> tuple[Page, list[str], list[str]]:
    """A phone-sized tab behind HTTPS (every request carries the router's header),
    with the console errors it logs (failed tiles aside) and the stream requests it makes."""
    context = browser.new_context(
        base_url=base, extra_http_headers=HTTPS, viewport={"width": 375, "height": 812}, device_scale_factor=2
    )
    page = context.new_page()
    errors: list[str] = []
    streams: list[str] = []
    page.on(
        "console",
        lambda m: m.type == "error" and "tiles.invalid" not in m.location.get("url", "") and errors.append(m.text),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: r.url.endswith("/stream") and streams.append(r.url))
    return page, errors, streams


def _courier_at(page: Page, lat: float, lng: float) -> None:
    root = page.locator("#share")
    expect(root).to_have_attribute("data-courier-lat", str(lat), timeout=PING_SHOWS_WITHIN_MS)
    expect(root).to_have_attribute("data-courier-lng", str(lng), timeout=PING_SHOWS_WITHIN_MS)


def _courier_claims(base: str, kitchen: dict, order_id: str) -> tuple[dict, str]:
    """A courier online near the kitchen claims the order's delivery: their API
    headers and the delivery's id."""
    courier = signed_in(base, "courier", COURIER_NAME)
    courier.pop("email")
    online = {"online": True, "lat": KITCHEN["lat"] + 0.001, "lng": KITCHEN["lng"]}
    assert requests.post(f"{base}/api/v1/courier/availability", json=online, headers=courier, timeout=10).ok
    offers: list = []

    def offered() -> bool:
        listed = requests.get(f"{base}/api/v1/courier/deliveries/available", headers=courier, timeout=10).json()
        offers[:] = [d for d in listed["results"] if d["order_id"] == order_id]
        return bool(offers)

    assert wait_for(offered, timeout=15)
    claimed = requests.post(f"{base}/api/v1/courier/deliveries/{offers[0]['id']}/claim", headers=courier, timeout=10)
    assert claimed.status_code == 200, claimed.text
    return courier, offers[0]["id"]


def _courier_step(base: str, courier: dict, delivery_id: str, step: str) -> None:
    done = requests.post(f"{base}/api/v1/courier/deliveries/{delivery_id}/{step}", headers=courier, timeout=10)
    assert done.status_code == 200, done.text


def _ping(base: str, courier: dict, lat: float, lng: float) -> None:
    pinged = requests.post(
        f"{base}/api/v1/courier/location", json={"lat": lat, "lng": lng}, headers=courier, timeout=10
    )
    assert pinged.status_code == 202, pinged.text


def _marker(page: Page) -> str | None:
    marker = page.locator("path.point-courier")
    return marker.get_attribute("d") if marker.count() else None


def test_someone_with_the_link_follows_the_delivery_live(share_web, released, browser, localstripe_server, screenshots):
    base = share_web.base_url
    dish = {"name": "Tajine d'agneau", "price_cents": 1600, "allergens": ["celery"], "portions_per_day": 10}
    kitchen = open_kitchen(base, released, chef_name="Nadia Haddad", kitchen_name="Chez Nadia", dish=dish)
    customer, order_id = _accepted_order(base, kitchen, localstripe_server)
    email = customer.pop("email")
    shared = requests.post(f"{base}/api/v1/orders/{order_id}/share", headers=customer, timeout=10)
    assert shared.status_code == 201, shared.text
    link = "/t/" + shared.json()["url"].rsplit("/", 1)[1]
    page, errors, streams = _tab(browser, base)

    # the page: the kitchen, the status in words, the map's points and route without tiles
    opened = page.goto(link)
    assert opened.status == 200
    assert opened.headers["content-security-policy"].startswith("default-src 'none'")
    expect(page.locator("h1")).to_have_text("Chez Nadia")
    expect(page.locator("#status-label")).to_have_text("The kitchen is cooking")
    expect(page.locator('#timeline [aria-current="step"]')).to_contain_text("(now)")
    expect(page.locator("#share")).to_have_attribute("data-live", "open")
    expect(page.locator("path.point-kitchen")).to_have_count(1)
    expect(page.locator("path.point-dropoff")).to_have_count(1)
    expect(page.locator("path.route")).to_have_attribute("d", re.compile(r"M.+L"))

    # a courier claims it, the food is ready, the courier picks it up: the page follows
    courier, delivery_id = _courier_claims(base, kitchen, order_id)
    assert requests.post(f"{base}/api/v1/chef/orders/{order_id}/ready", headers=kitchen["chef"], timeout=10).ok
    _courier_step(base, courier, delivery_id, "pickup")
    expect(page.locator("#status-label")).to_have_text("On the way", timeout=5_000)
    page.reload()  # the courier's first name shows once a courier carries the order
    expect(page.locator("#courier")).to_have_text(f"Your courier: {COURIER_NAME.split(maxsplit=1)[0]}")
    assert COURIER_NAME.split()[1] not in page.content()

    # the courier moves: each ping through the courier API shows within 2 s
    for lat, lng in [(48.8600, 2.3400), (48.8590, 2.3440), (48.8580, 2.3480)]:
        before = _marker(page)
        _ping(base, courier, lat, lng)
        _courier_at(page, lat, lng)
        assert _marker(page) not in (None, before)  # the marker moved on the map
    expect(page.locator("#eta")).to_have_text(re.compile(r"Arriving (in about \d+ min|any minute now)"))
    page.screenshot(path=str(screenshots / "share-page.png"), full_page=True)

    # at the door the courier is only "arriving"
    _ping(base, courier, 48.8570, DROP_OFF["lng"])
    expect(page.locator("#arriving")).to_be_visible(timeout=PING_SHOWS_WITHIN_MS)
    expect(page.locator("path.point-courier")).to_have_count(0)
    assert page.locator("#share").get_attribute("data-courier-lat") == ""

    # delivered: the page says so and stops following
    _courier_step(base, courier, delivery_id, "deliver")
    expect(page.locator("#ended")).to_contain_text("Delivered", timeout=5_000)
    expect(page.locator("#status-label")).to_have_text("Delivered")
    expect(page.locator("#share")).to_have_attribute("data-live", "stopped")
    followed = len(streams)
    page.wait_for_timeout(3_000)  # longer than the stream's retry hint: a live page would reconnect
    assert len(streams) == followed

    # neither the page nor its stream (replayed from the start) shows personal data
    replay = Sse(f"{base}{link}/stream", {**HTTPS, "Last-Event-ID": "0-0"})
    blocks = replay.rest()
    assert any('"delivered"' in block.get("data", "") for block in blocks)
    body = repr(blocks) + page.content()
    for value in (
        CUSTOMER["full_name"],
        "Margaux",
        "Delacroix",
        email,
        DROP_OFF["address"],
        "Rivoli",
        CUSTOMER["phone"],
        INSTRUCTIONS,
        "4821B",
        str(DROP_OFF["lat"]),
        COURIER_NAME.split()[1],
    ):
        assert value not in body, value
    assert errors == []


def test_a_link_expired_after_the_order_ended_shows_the_410_page(share_web, released, browser):
    base = share_web.base_url
    dish = {"name": "Bo bún", "price_cents": 1400, "allergens": ["peanuts"], "portions_per_day": 10}
    kitchen = open_kitchen(base, released, chef_name="Linh Tran", kitchen_name="Chez Linh", dish=dish)
    customer = signed_in(base, "customer", CUSTOMER["full_name"])
    customer.pop("email")
    placed = place_order(
        base, customer, {"items": [{"dish_id": kitchen["dish_id"], "quantity": 1}], "delivery": DROP_OFF}
    )
    order_id = placed.json()["id"]
    link = (
        "/t/"
        + requests.post(f"{base}/api/v1/orders/{order_id}/share", headers=customer, timeout=10)
        .json()["url"]
        .rsplit("/", 1)[1]
    )
    cancelled = requests.post(f"{base}/api/v1/orders/{order_id}/cancel", headers=customer, timeout=10)
    assert cancelled.status_code == 200, cancelled.text
    page, errors, streams = _tab(browser, base)

    ended = page.goto(link)
    assert ended.status == 200
    expect(page.locator("#ended")).to_contain_text("cancelled")
    expect(page.locator("#share")).to_have_attribute("data-live", "stopped")
    assert streams == []  # an ended order's page does not follow anything
    assert wait_for(
        lambda: requests.get(f"{base}{link}", headers=HTTPS, timeout=10).status_code == 410,
        timeout=LINK_SECONDS_AFTER_END + 10,
    )
    expired = page.goto(link)

    assert expired.status == 410
    expect(page.locator("h1")).to_have_text("This live link has expired")
    assert expired.headers["content-type"].startswith("text/html")
    revoked = page.goto("/t/" + "A" * 43)
    assert revoked.status == 404
    expect(page.locator("h1")).to_have_text("This live link does not exist")
    assert errors == [] or all("404" in e or "410" in e for e in errors)
