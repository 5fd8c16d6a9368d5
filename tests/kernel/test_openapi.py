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
