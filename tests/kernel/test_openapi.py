import re

import pytest
import yaml
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def test_the_schema_is_a_valid_openapi_3_document(api):
    response = api.get("/api/schema/")

    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    validate(document)
    assert document["openapi"].startswith("3.")
    assert "/api/v1/auth/register" in document["paths"]


def test_the_schema_documents_error_responses(api):
    document = yaml.safe_load(api.get("/api/schema/").content)

    me = document["paths"]["/api/v1/me"]["get"]["responses"]
    assert {"200", "401", "429"} <= set(me)
    register = document["paths"]["/api/v1/auth/register"]["post"]["responses"]
    assert {"201", "400"} <= set(register)
    assert "Error" in document["components"]["schemas"]


def test_the_docs_page_loads_nothing_from_another_host(api):
    response = api.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    external = re.findall(r"""(?:src|href)=["'](https?:)?//[^"']+""", html)
    assert external == []
    assert "swagger-ui" in html
    script = re.search(r"""src=["']([^"']*swagger-ui-bundle[^"']*)""", html).group(1)
    assert api.get(script).status_code == 200


def _operation(document, path, method):
    return document["paths"][f"/api/v1/{path}"][method]


def _query_schema(operation, name):
    return next(p["schema"] for p in operation["parameters"] if p["name"] == name)


def test_the_schema_documents_each_error_an_operation_can_give(api):
    document = yaml.safe_load(api.get("/api/schema/").content)

    assert "401" in _operation(document, "auth/token", "post")["responses"]
    assert "401" in _operation(document, "auth/token/refresh", "post")["responses"]
    assert "409" in _operation(document, "chef/profile", "patch")["responses"]
    assert {"400", "401", "403", "404"} <= set(_operation(document, "chef/dishes", "get")["responses"])
    assert {"400", "404"} <= set(_operation(document, "dishes", "get")["responses"])
    assert {"400", "415"} <= set(_operation(document, "chef/dishes", "post")["responses"])
    unavailable = _operation(document, "chefs", "get")["responses"]["503"]
    assert "Retry-After" in unavailable["headers"]


def test_the_schema_gives_enums_bounds_and_patterns(api):
    document = yaml.safe_load(api.get("/api/schema/").content)
    schemas = document["components"]["schemas"]

    role = schemas["RegisterInputRequest"]["properties"]["role"]
    assert schemas[role["allOf"][0]["$ref"].rsplit("/", 1)[1]]["enum"] == ["customer", "courier", "chef"]
    for path in ("dishes", "chefs", "chef/dishes"):
        operation = _operation(document, path, "get")
        assert _query_schema(operation, "page")["minimum"] == 1
        assert (_query_schema(operation, "page_size")["minimum"], _query_schema(operation, "page_size")["maximum"]) == (
            1,
            100,
        )
    dishes = _operation(document, "dishes", "get")
    assert (_query_schema(dishes, "lat")["minimum"], _query_schema(dishes, "lat")["maximum"]) == (-90, 90)
    assert (_query_schema(dishes, "lng")["minimum"], _query_schema(dishes, "lng")["maximum"]) == (-180, 180)
    slot = schemas["OpeningSlotRequest"]["properties"]
    assert slot["opens"]["pattern"] == "^([01][0-9]|2[0-3]):[0-5][0-9]$"
    assert "24:00" in slot["closes"]["pattern"]
    for name in ("DishPublicOutput", "ChefPublicOutput", "ChefDishOutput", "ProfileOutput"):
        assert schemas[name]["properties"]["photo_url"]["nullable"] is True
