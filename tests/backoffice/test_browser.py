"""The back office in a real headless browser (Debian's chromium driven by
Playwright, against a live server on loopback): a French home chef signs in, reads
French labels, adds a dish priced "16,50" and finds "16,50 €" in the list, reads the
allergens by their full names, gets a form error for negative stock, and meets a
forbidden page as an admin page. The list of dishes fits a 1280 px wide window.

Screenshots go to a temporary folder, or to ``BACKOFFICE_SCREENSHOTS`` when set
(``BACKOFFICE_SCREENSHOTS=docs/screenshots`` renews the README's)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.test.testcases import LiveServerThread
from playwright.sync_api import Page, expect, sync_playwright

from apps.menus.models import Dish
from tests.factories.accounts import DEFAULT_PASSWORD
from tests.factories.chefs import KitchenFactory, OpeningHoursFactory
from tests.factories.menus import DishFactory

CHROMIUM = "/usr/bin/chromium"
WIDTH = 1280


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API keeps an event loop running in this thread; the test's own
    # database reads and the fixtures' flush are plain synchronous calls all the same.
    allowed = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()
    if allowed is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def screenshots():
    kept = os.environ.get("BACKOFFICE_SCREENSHOTS")
    folder = Path(kept) if kept else Path(tempfile.mkdtemp(prefix="back-office-"))
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    if not kept:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def web_server(transactional_db):
    """The app served on loopback in a thread of this process, as a browser reaches it;
    static files come from WhiteNoise (collected and hashed), as in production."""
    thread = LiveServerThread("localhost", static_handler=lambda app: app)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://localhost:{thread.port}"
    thread.terminate()


@pytest.fixture
def kitchen(transactional_db):
    kitchen = KitchenFactory(display_name="Chez Mireille", cuisine="Lyonnaise", address="12 rue Mercière, Lyon")
    OpeningHoursFactory(kitchen=kitchen)
    DishFactory(kitchen=kitchen, name="Quenelles de brochet", price_cents=1400, allergens=("gluten", "eggs", "fish"))
    DishFactory(kitchen=kitchen, name="Tarte aux pralines", price_cents=650, allergens=("gluten", "nuts", "milk"))
    return kitchen


def french_chef(browser, web_server, kitchen) -> Page:
    """A French browser (Accept-Language fr-FR) signed in as the kitchen's chef,
    behind HTTPS as in production (every request carries the router's header)."""
    context = browser.new_context(
        base_url=web_server,
        locale="fr-FR",
        timezone_id="Europe/Paris",
        extra_http_headers={"X-Forwarded-Proto": "https"},
        viewport={"width": WIDTH, "height": 900},
    )
    page = context.new_page()
    page.goto("/admin/login/?next=/admin/")
    expect(page.locator("label[for=id_password]")).to_contain_text("Mot de passe")
    page.fill("#id_username", kitchen.chef.email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/admin/")
    return page


@pytest.mark.timeout(300)  # a browser and a server thread on a busy 2-core machine
def test_a_french_chef_runs_the_menu_in_a_browser(browser, web_server, kitchen, screenshots):
    page = french_chef(browser, web_server, kitchen)
    expect(page.locator("#site-name")).to_have_text("Cuisine FoodieFast")
    expect(page.locator("#content-main")).to_contain_text("Plats")
    expect(page.locator("#content-main")).to_contain_text("Tableau des commandes")

    # A new dish: French labels, no kitchen to pick, the 14 allergens by full name.
    page.goto("/admin/menus/dish/add/")
    expect(page.locator("label[for=id_price_cents]")).to_have_text("Prix :")
    expect(page.locator("#id_kitchen")).to_have_count(0)
    allergens = page.locator("#id_allergens")
    expect(allergens.locator("input[type=checkbox]")).to_have_count(14)
    expect(allergens).to_contain_text("Fruits à coque (amandes, noisettes, noix")
    expect(allergens).to_contain_text("Arachides (cacahuètes, beurre et huile d’arachide ; pas les fruits à coque)")  # noqa: RUF001
    page.fill("#id_name", "Blanquette de veau")
    page.fill("#id_price_cents", "16,50")
    page.get_by_label("Lait (lait de tout animal").check()
    page.get_by_label("Céleri (céleri branche").check()
    page.fill("#id_portions_per_day", "8")
    page.screenshot(path=screenshots / "dish-form.png", full_page=True)
    page.locator("input[name=_save]").click()
    expect(page.locator(".errornote")).to_have_count(0)

    # The list: the price in euros the French way, readable at 1280 px.
    page.wait_for_url("**/admin/menus/dish/")
    row = page.locator("#result_list tr", has_text="Blanquette de veau")
    expect(row.locator("td.field-price_cents_money")).to_have_text("16,50\u00a0€")
    expect(page.locator("#result_list thead")).to_contain_text("Portions du jour")
    expect(page.locator("#result_list thead")).to_contain_text("Modifié le")
    # Every column in sight: neither the page nor the list scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    results = "(() => { const r = document.querySelector('.results'); return [r.scrollWidth, r.clientWidth]; })()"
    scrolled, shown = page.evaluate(results)
    assert scrolled <= shown, (scrolled, shown)
    page.screenshot(path=screenshots / "dish-list.png", full_page=True)
    dish = Dish.objects.get(name="Blanquette de veau")
    assert (dish.price_cents, dish.kitchen_id, dish.allergens) == (1650, kitchen.pk, ["milk", "celery"])

    # Negative stock typed in the list: a form error in French, not a database message.
    row.locator("input[name$=portions_left]").fill("-2")
    page.locator("input[name=_save]").click()
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator("#result_list")).to_contain_text("Assurez-vous que cette valeur est supérieure ou égale à 0.")
    expect(page.locator("body")).not_to_contain_text("Constraint")
    page.screenshot(path=screenshots / "dish-error.png", full_page=True)
    dish.refresh_from_db()
    assert dish.portions_left == 8

    # The kitchen page explains its coordinates and units.
    page.goto(f"/admin/chefs/kitchen/{kitchen.pk}/change/")
    expect(page.locator("#id_lat_helptext")).to_contain_text("en degrés nord")
    expect(page.locator("label[for=id_delivery_radius_km]")).to_have_text("Rayon de livraison (km) :")
    expect(page.locator("#id_delivery_fee_cents")).to_have_value("2,99")
    page.screenshot(path=screenshots / "kitchen.png", full_page=True)

    # A page that is not the chef's: an admin page saying so, in French.
    response = page.goto("/admin/accounts/user/")
    assert response.status == 403
    expect(page.locator("#site-name")).to_have_text("Cuisine FoodieFast")
    expect(page.locator("h1")).to_have_text("Accès refusé")
    expect(page.locator(".errornote")).to_have_text("Votre compte ne donne pas accès à cette page.")
    page.screenshot(path=screenshots / "forbidden.png", full_page=True)
