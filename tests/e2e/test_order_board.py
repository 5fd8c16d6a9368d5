"""The chef's order board in a real headless browser (Debian's chromium driven by
Playwright) against the Procfile's web, worker and beat and localstripe: a chef logs
in to the admin, sees a paid order with its allergens and its deadline counting down,
accepts it (captured at localstripe) and marks it ready; an order paid meanwhile
appears without a reload and is rejected with a reason; another chef sees none of it."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.ordering import DROP_OFF, HTTPS, PASSWORD, open_kitchen, pay_with_webhook, place_order, signed_in
from tests.payments.conftest import StripeDouble
from tests.processes import wait_for

CHROMIUM = "/usr/bin/chromium"
# The board polls every 10 s; an order paid meanwhile shows within one round and the worker's move.
NEW_ORDER_SHOWS_WITHIN_MS = 25_000


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def board_kitchen(web, worker, beat, released):
    # The browser posts its forms from a plain-http loopback origin while every request
    # says https: the app accepts its own loopback origin with no extra setting.
    dish = {"name": "Falafel plate", "price_cents": 1300, "allergens": ["sesame", "milk"], "portions_per_day": 10}
    base = web.base_url
    opened = open_kitchen(base, released, chef_name="Karim Benali", kitchen_name="Chez Karim", dish=dish)
    return {"base": base, **opened}


def admin_page(browser, base: str, email: str) -> Page:
    """A browser tab signed in to the admin as ``email``, behind HTTPS as in production
    (every request carries the router's header)."""
    context = browser.new_context(
        base_url=base, extra_http_headers=HTTPS, viewport={"width": 1400, "height": 900}, timezone_id="Europe/Paris"
    )
    page = context.new_page()
    page.goto("/admin/login/?next=/admin/orders/board/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/orders/board/")
    return page


def paid_order(kitchen: dict, stripe_double: StripeDouble, customer: dict, quantity: int) -> dict:
    """An order of the kitchen's dish placed and paid; its JSON once it is paid."""
    base = kitchen["base"]
    body = {"items": [{"dish_id": kitchen["dish_id"], "quantity": quantity}], "delivery": DROP_OFF}
    body["delivery"] = {**DROP_OFF, "instructions": "Ring twice, 2nd floor"}
    placed = place_order(base, customer, body)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    pay_with_webhook(base, stripe_double, order["payment"]["payment_intent_id"])

    def status() -> str:
        return requests.get(f"{base}/api/v1/orders/{order['id']}", headers=customer, timeout=10).json()["status"]

    assert wait_for(lambda: status() == "paid", timeout=15)
    return order


def in_column(page: Page, column: str, order: dict):
    return page.locator(f'[data-column="{column}"] [data-order="{order["id"]}"]')


def test_a_chef_works_the_order_board_in_a_browser(browser, board_kitchen, localstripe_server, screenshots):
    base = board_kitchen["base"]
    stripe_double = StripeDouble(localstripe_server)
    customer = signed_in(base, "customer", "Camille Martin")
    customer.pop("email")
    first = paid_order(board_kitchen, stripe_double, customer, quantity=2)

    page = admin_page(browser, base, board_kitchen["email"])
    card = in_column(page, "to-accept", first)
    expect(card).to_contain_text("2 \u00d7 Falafel plate")
    expect(card).to_contain_text("Allergens: Milk, Sesame seeds")
    expect(card).to_contain_text("Ring twice, 2nd floor")
    expect(card).to_contain_text("Camille")
    expect(card).not_to_contain_text("Martin")
    expect(page.locator("body")).not_to_contain_text("rue de Rivoli")
    countdown = card.locator(".board-countdown")
    expect(countdown).to_have_text(re.compile(r"^\d+:\d\d left$"))
    shown = countdown.text_content()
    expect(countdown).not_to_have_text(shown, timeout=3000)  # counting down live
    page.screenshot(path=screenshots / "board-to-accept.png", full_page=True)

    # An order paid while the board is open appears by itself (no reload: the marker stays).
    page.evaluate("window.boardMarker = 'kept'")
    second = paid_order(board_kitchen, stripe_double, customer, quantity=1)
    expect(in_column(page, "to-accept", second)).to_be_visible(timeout=NEW_ORDER_SHOWS_WITHIN_MS)
    assert page.evaluate("window.boardMarker") == "kept"

    # Accept with prep minutes: captured at localstripe, now cooking.
    card.locator("input[name=prep_minutes]").fill("25")
    card.get_by_role("button", name="Accept").click()
    expect(page.locator(".messagelist")).to_contain_text("accepted, ready in 25 min")
    cooking = in_column(page, "cooking", first)
    expect(cooking).to_contain_text("(25 min)")
    assert stripe_double.intent(first["payment"]["payment_intent_id"])["status"] == "succeeded"

    cooking.get_by_role("button", name="Ready for pickup").click()
    expect(in_column(page, "ready", first)).to_be_visible()

    # Reject the other with a reason: cancelled, the hold voided.
    rejecting = in_column(page, "to-accept", second)
    rejecting.locator("input[name=reason]").fill("Out of chickpeas")
    rejecting.get_by_role("button", name="Reject").click()
    expect(in_column(page, "done", second)).to_contain_text("Out of chickpeas")
    assert stripe_double.intent(second["payment"]["payment_intent_id"])["status"] == "canceled"
    page.screenshot(path=screenshots / "board-after.png", full_page=True)

    # Another chef's board shows none of these orders.
    other = signed_in(base, "chef", "Sofia Rossi")
    other_page = admin_page(browser, base, other["email"])
    expect(other_page.locator("h1")).to_have_text("Order board")
    expect(other_page.locator("[data-order]")).to_have_count(0)
    expect(other_page.locator('[data-column="to-accept"]')).to_contain_text("Nothing here.")
