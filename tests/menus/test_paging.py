"""One paging rule on every list: page < 1 or not a whole number is 400 ``invalid``,
a page past the last one 404 ``not_found``."""

from __future__ import annotations

import pytest

from tests.factories.chefs import PARIS, KitchenFactory
from tests.factories.menus import DishFactory

pytestmark = pytest.mark.django_db

HERE = f"lat={PARIS[0]}&lng={PARIS[1]}"
LISTS = [f"/api/v1/dishes?{HERE}", f"/api/v1/chefs?{HERE}", "/api/v1/chef/dishes?"]


@pytest.fixture
def client_of(make_client):
    kitchen, *_ = KitchenFactory.create_batch(3)
    DishFactory.create_batch(3, kitchen=kitchen)
    return lambda url: make_client(kitchen.chef) if "/chef/" in url else make_client()


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("page", ["0", "-1", "one", "1.0", "²"])
def test_a_page_that_is_not_a_whole_number_from_1_is_invalid(client_of, url, page):
    response = client_of(url).get(f"{url}&page={page}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["fields"]) == ["page"]


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("page", ["5", "1000001", "99999999999999999999999"])
def test_a_page_past_the_last_is_not_found(client_of, url, page):
    response = client_of(url).get(f"{url}&page_size=2&page={page}")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "No such page."}


@pytest.mark.parametrize("url", LISTS)
def test_the_last_page_is_there(client_of, url):
    response = client_of(url).get(f"{url}&page_size=2&page=2")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1
    assert response.json()["next"] is None


def test_page_one_of_an_empty_list_is_an_empty_page(make_client):
    response = make_client(KitchenFactory().chef).get("/api/v1/chef/dishes?page=1")

    assert response.status_code == 200
    assert response.json()["results"] == []
