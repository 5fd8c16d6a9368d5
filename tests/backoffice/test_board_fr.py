"""The order board speaks the chef's language too: columns, cards, allergens, the
countdown's words, and the messages of its buttons."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.backoffice.test_admin_fr import FRENCH, signed_in
from tests.factories.menus import DishFactory
from tests.factories.orders import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(db):
    dish = DishFactory(name="Tarte aux noix", allergens=("nuts", "peanuts", "milk"))
    return OrderFactory(dish=dish, paid=True)


def test_a_french_chef_reads_the_board_in_french(paid):
    chef = signed_in(paid.kitchen.chef, **FRENCH)
    html = chef.get(reverse("admin:orders_board")).content.decode()

    assert "<h1>Tableau des commandes</h1>" in html
    assert "À accepter" in html and "En préparation" in html and "Prête à emporter" in html
    assert "Allergènes : Arachides, Lait, Fruits à coque" in html
    assert re.search(r"À accepter avant \d\d:\d\d", html)
    assert 'data-left-text="encore {time}"' in html and 'data-late-text="délai écoulé"' in html
    assert ">Accepter</button>" in html and 'placeholder="Motif du refus"' in html


def test_the_board_buttons_answer_in_french(paid):
    chef = signed_in(paid.kitchen.chef, **FRENCH)
    response = chef.post(reverse("admin:orders_board_ready", args=[paid.pk]), follow=True)

    [message] = [str(m) for m in response.wsgi_request._messages]
    assert message == (
        f"Commande {paid.number} : Il faut pour cela une commande « Acceptée » ; celle-ci est « Payée (autorisée) »."
    )


def test_an_english_chef_reads_it_in_english(paid):
    chef = signed_in(paid.kitchen.chef, HTTP_ACCEPT_LANGUAGE="en")
    html = chef.get(reverse("admin:orders_board")).content.decode()
    assert "To accept" in html and "Allergens: Peanuts, Milk, Tree nuts" in html
