"""Form posts behind the router are https; a browser on the machine itself posts from
its plain-http loopback origin and is let in, nothing else is."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.accounts import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def admin_login(*, host: str, origin: str):
    client = Client(enforce_csrf_checks=True, HTTP_X_FORWARDED_PROTO="https", HTTP_HOST=host)
    client.get(reverse("admin:login"))
    user = UserFactory(staff=True)
    return client.post(
        reverse("admin:login"),
        {
            "username": user.email,
            "password": DEFAULT_PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        },
        HTTP_ORIGIN=origin,
    )


def test_the_https_origin_of_the_request_host_signs_in():
    assert admin_login(host="127.0.0.1:8123", origin="https://127.0.0.1:8123").status_code == 302


def test_a_browser_on_loopback_posting_from_its_http_origin_signs_in():
    assert admin_login(host="127.0.0.1:8123", origin="http://127.0.0.1:8123").status_code == 302
    assert admin_login(host="localhost:8123", origin="http://localhost:8123").status_code == 302


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:9999",  # another port: another site on the same machine
        "http://evil.example",
        "https://evil.example",
        "null",
    ],
)
def test_any_other_origin_is_refused(origin):
    assert admin_login(host="127.0.0.1:8123", origin=origin).status_code == 403


def test_a_plain_http_origin_of_a_public_host_is_refused(settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "foodiefast.example"]
    assert admin_login(host="foodiefast.example", origin="http://foodiefast.example").status_code == 403


def test_deploy_check_fails_without_a_csrf_middleware(settings):
    from django.core import checks

    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "Csrf" not in m]
    found = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
    assert "foodiefast.W003" in {message.id for message in found}


def test_deploy_check_accepts_the_projects_csrf_middleware():
    from django.core import checks

    found = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
    assert "foodiefast.W003" not in {message.id for message in found}
