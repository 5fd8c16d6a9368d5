"""Every error the API gives has the API.md shape: JSON with ``code`` and ``detail``."""

import pytest
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401 - used by Django
from config.urls import urlpatterns as real_urlpatterns
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db


class OneRequestPerMinute(AnonRateThrottle):
    rate = "1/min"
    scope = "tests"


class ThrottledApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [OneRequestPerMinute]

    def get(self, request):
        return Response({"ok": True})


class StaffOnlyApi(APIView):
    def get(self, request):
        from rest_framework.exceptions import PermissionDenied

        raise PermissionDenied()


class BrokenApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("a bug")


urlpatterns = [
    *real_urlpatterns,
    path("api/v1/test/throttled", ThrottledApi.as_view()),
    path("api/v1/test/forbidden", StaffOnlyApi.as_view()),
    path("api/v1/test/broken", BrokenApi.as_view()),
]


@pytest.fixture(autouse=True)
def _test_urls(settings):
    settings.ROOT_URLCONF = __name__


def _assert_shape(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status", "code"),
    [
        ("post", "/api/v1/auth/register", {"data": "{not json", "content_type": "application/json"}, 400, "invalid"),
        ("post", "/api/v1/auth/register", {"data": {}, "format": "json"}, 400, "invalid"),
        ("get", "/api/v1/me", {}, 401, "not_authenticated"),
        ("get", "/api/v1/me", {"HTTP_AUTHORIZATION": "Bearer not.a.token"}, 401, "not_authenticated"),
        ("get", "/api/v1/me", {"HTTP_AUTHORIZATION": "Basic abc"}, 401, "not_authenticated"),
        ("get", "/api/v1/no-such-endpoint", {}, 404, "not_found"),
        ("get", "/nothing-here", {}, 404, "not_found"),
        ("put", "/api/v1/auth/token", {"data": {}, "format": "json"}, 405, "method_not_allowed"),
        (
            "post",
            "/api/v1/auth/token",
            {"data": "a=b", "content_type": "application/x-www-form-urlencoded"},
            415,
            "unsupported_media_type",
        ),
    ],
)
def test_error_shape(api, method, url, kwargs, status, code):
    response = getattr(api, method)(url, **kwargs)
    _assert_shape(response, status, code)


def test_validation_errors_name_each_field(api):
    body = _assert_shape(api.post("/api/v1/auth/register", {}, format="json"), 400, "invalid")
    assert set(body["fields"]) == {"email", "password", "full_name"}
    assert all(isinstance(m, str) for messages in body["fields"].values() for m in messages)


def test_a_tampered_token_is_not_authenticated(api, customer):
    from rest_framework_simplejwt.tokens import AccessToken

    token = str(AccessToken.for_user(customer))
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    _assert_shape(api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {tampered}"), 401, "not_authenticated")


def test_permission_denied(make_client):
    _assert_shape(make_client(UserFactory()).get("/api/v1/test/forbidden"), 403, "permission_denied")


def test_throttled_answers_429_with_retry_after(api):
    assert api.get("/api/v1/test/throttled").status_code == 200
    response = api.get("/api/v1/test/throttled")
    _assert_shape(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1


def test_an_unexpected_error_is_a_json_500_without_a_stack_trace(api):
    api.raise_request_exception = False
    response = api.get("/api/v1/test/broken")
    body = _assert_shape(response, 500, "server_error")
    assert "RuntimeError" not in response.content.decode()
    assert "Traceback" not in body["detail"]


def test_page_size_above_100_is_invalid(api):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from foodiefast.errors import InvalidInput
    from foodiefast.pagination import PageNumberPagination

    request = Request(APIRequestFactory().get("/x", {"page_size": "101"}))
    with pytest.raises(InvalidInput) as caught:
        PageNumberPagination().paginate_queryset(list(range(5)), request)
    assert caught.value.as_dict()["fields"] == {"page_size": ["Ensure this value is between 1 and 100."]}

    ok = Request(APIRequestFactory().get("/x", {"page_size": "100"}))
    assert PageNumberPagination().paginate_queryset(list(range(150)), ok) == list(range(100))


def test_plain_http_is_redirected_to_https_but_health_is_not(api):
    assert api.get("/api/v1/me", HTTP_X_FORWARDED_PROTO="http").status_code == 301
    assert api.get("/health/live", HTTP_X_FORWARDED_PROTO="http").status_code == 200


def test_https_answers_carry_hsts(api):
    response = api.get("/health/live")
    assert "max-age=31536000" in response["Strict-Transport-Security"]
