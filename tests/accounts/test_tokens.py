import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from tests.conftest import Client
from tests.factories.accounts import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/token/refresh"


def sign_in(api, email, password=DEFAULT_PASSWORD, **extra):
    return api.post(TOKEN, {"email": email, "password": password}, format="json", **extra)


def test_sign_in_returns_a_token_pair_that_opens_me(api, customer):
    response = sign_in(api, customer.email.upper())

    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}
    me = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert me.status_code == 200
    assert me.json()["email"] == customer.email


def test_wrong_password_and_unknown_email_answer_the_same(api, customer):
    wrong = sign_in(api, customer.email, "not-the-password")
    unknown = sign_in(api, "nobody@example.com")

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"


def test_access_tokens_expire_within_fifteen_minutes(api, customer):
    access = sign_in(api, customer.email).json()["access"]

    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=15, seconds=1)):
        response = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {access}")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_refresh_rotates_and_the_used_token_is_revoked(api, customer):
    first = sign_in(api, customer.email).json()

    rotated = api.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert rotated.status_code == 200
    second = rotated.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {second['access']}").status_code == 200

    replay = api.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert replay.status_code == 401
    assert replay.json()["code"] == "not_authenticated"
    assert api.post(REFRESH, {"refresh": second["refresh"]}, format="json").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_have_exactly_one_winner():
    # given: one refresh token, sent by 8 clients at the same moment
    user = UserFactory()
    first = sign_in(Client(), user.email).json()
    start = threading.Barrier(8, timeout=30)

    def rotate(_):
        try:
            start.wait()
            return Client().post(REFRESH, {"refresh": first["refresh"]}, format="json")
        finally:
            connection.close()

    # when
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(rotate, range(8), timeout=60))

    # then: one new pair; the others are told the token is used
    winners = [r for r in responses if r.status_code == 200]
    losers = [r for r in responses if r.status_code != 200]
    assert len(winners) == 1
    assert [(r.status_code, r.json()["code"]) for r in losers] == [(401, "not_authenticated")] * 7
    # only the winner's refresh token was issued, and it works once
    assert OutstandingToken.objects.filter(user=user).count() == 2
    api = Client()
    assert api.post(REFRESH, {"refresh": winners[0].json()["refresh"]}, format="json").status_code == 200


@pytest.mark.parametrize(
    ("refresh", "status", "code"),
    [("garbage", 401, "not_authenticated"), ("a.b.c", 401, "not_authenticated"), ("", 400, "invalid")],
)
def test_refresh_with_an_invalid_token(api, refresh, status, code):
    response = api.post(REFRESH, {"refresh": refresh}, format="json")
    assert response.status_code == status
    assert response.json()["code"] == code


def test_an_access_token_cannot_be_used_as_refresh(api, customer):
    access = sign_in(api, customer.email).json()["access"]
    response = api.post(REFRESH, {"refresh": access}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_ten_failures_lock_the_account_even_for_the_right_password(api, customer):
    for _ in range(10):
        assert sign_in(api, customer.email, "wrong-password").status_code == 401

    response = sign_in(api, customer.email)

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 15 * 60
    # another account from the same address still signs in
    other = UserFactory()
    assert sign_in(api, other.email).status_code == 200


def test_the_account_lock_lifts_when_the_window_passes(api, customer):
    for _ in range(10):
        sign_in(api, customer.email, "wrong-password")
    assert sign_in(api, customer.email).status_code == 429

    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=14)):
        assert sign_in(api, customer.email).status_code == 429
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=16)):
        assert sign_in(api, customer.email).status_code == 200


def test_an_office_behind_one_address_keeps_signing_in(api, settings):
    settings.LOGIN_FAILURES_PER_IP = 30
    users = UserFactory.create_batch(40)
    for user in users:
        assert sign_in(api, user.email, REMOTE_ADDR="203.0.113.7").status_code == 200


def test_failures_from_one_address_are_throttled_across_accounts(api, settings, customer):
    settings.LOGIN_FAILURES_PER_IP = 5
    for n in range(5):
        assert sign_in(api, f"guess{n}@example.com", REMOTE_ADDR="198.51.100.9").status_code == 401

    assert sign_in(api, customer.email, REMOTE_ADDR="198.51.100.9").status_code == 429
    assert sign_in(api, customer.email, REMOTE_ADDR="198.51.100.10").status_code == 200


def test_behind_the_router_the_client_is_the_last_forwarded_hop(api, settings, customer):
    settings.TRUSTED_PROXIES = 1
    settings.LOGIN_FAILURES_PER_IP = 3
    for n in range(3):
        sign_in(api, f"g{n}@example.com", HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.20")

    # a spoofed first hop does not escape: the router's hop is what counts
    blocked = sign_in(api, customer.email, HTTP_X_FORWARDED_FOR="9.9.9.9, 198.51.100.20")
    allowed = sign_in(api, customer.email, HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.21")
    assert blocked.status_code == 429
    assert allowed.status_code == 200
