"""Redis, where couriers' newest positions live, stopped or frozen under the web
process: a location ping answers 503 ``service_unavailable`` with ``Retry-After``
within 3 s (nothing recorded, never a 500 or a hang), and 202 again once Redis is
back, without a restart."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from apps.tracking.positions import BREAKER_SECONDS
from tests.faults.conftest import HTTPS, unavailable

pytestmark = pytest.mark.timeout(90)

CONTRACT_SECONDS = 3  # API.md: a 503 comes within 3 seconds
POINT = {"lat": 48.8625, "lng": 2.34}


@pytest.fixture(scope="module")
def courier(deployment) -> dict[str, str]:
    """A courier signed up over the API and online near the Louvre: their headers."""
    base = deployment.base_url
    email = f"courier-{uuid.uuid4().hex[:8]}@example.com"
    password = "a-long-unusual-phrase"
    body = {"email": email, "password": password, "full_name": "Karim Benali", "role": "courier"}
    assert requests.post(f"{base}/api/v1/auth/register", json=body, headers=HTTPS, timeout=10).status_code == 201
    tokens = requests.post(
        f"{base}/api/v1/auth/token", json={"email": email, "password": password}, headers=HTTPS, timeout=10
    ).json()
    headers = {**HTTPS, "Authorization": f"Bearer {tokens['access']}"}
    online = requests.post(
        f"{base}/api/v1/courier/availability", json={"online": True, **POINT}, headers=headers, timeout=10
    )
    assert online.status_code == 200, online.text
    return headers


def _ping(deployment, courier) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.post(
        f"{deployment.base_url}/api/v1/courier/location", json=POINT, headers=courier, timeout=CONTRACT_SECONDS
    )
    return response, time.monotonic() - started


def _until_accepted(deployment, courier) -> requests.Response:
    """Redis is back: after the breaker's pause, pings are taken again."""
    time.sleep(BREAKER_SECONDS + 0.1)
    deadline = time.monotonic() + 10
    while True:
        response, _ = _ping(deployment, courier)
        if response.status_code == 202 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
def test_a_ping_while_redis_is_unreachable_answers_503_in_time_then_202_once_it_is_back(deployment, courier, fault):
    redis = deployment.redis
    assert _ping(deployment, courier)[0].status_code == 202
    redis.kill() if fault == "stopped" else redis.freeze()
    try:
        answers = [_ping(deployment, courier) for _ in range(3)]
    finally:
        redis.start() if fault == "stopped" else redis.thaw()

    for response, took in answers:
        assert unavailable(response), (response.status_code, response.text)
        assert took < CONTRACT_SECONDS
    # a restarted Redis is empty: the courier's duty is read again from PostgreSQL
    assert _until_accepted(deployment, courier).status_code == 202
