"""PostgreSQL stopped or frozen (SIGSTOP: connections open, the kernel still
acknowledging, nothing answering): database-backed requests answer 503
``service_unavailable`` with ``Retry-After`` within 3 s, on kept-open and new
connections alike, never a 500 or a hang; stored browse answers are still served;
the next requests after the server is back answer 200, without a restart."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from foodiefast.postgresql.base import BREAKER_SECONDS
from tests.faults.conftest import HTTPS, PARIS, WEB_THREADS, unavailable
from tests.faults.servers import PostgresCluster

pytestmark = pytest.mark.timeout(90)

CONTRACT_SECONDS = 3  # API.md: a 503 comes within 3 seconds
BROWSE = f"/api/v1/dishes?{PARIS}"


def stored_browse_answer(deployment) -> bytes:
    """A browse answer Django gave a moment ago, which the web entry now replays."""
    deployment.get(BROWSE, timeout=5)
    replayed, _ = deployment.get(BROWSE, timeout=5)
    assert (replayed.status_code, replayed.headers["X-Cache"]) == (200, "hit")
    return replayed.content


def on_every_thread(deployment, path: str) -> list[tuple[requests.Response, float]]:
    """One request per web thread at once: each on that thread's kept-open connection."""
    with ThreadPoolExecutor(WEB_THREADS) as pool:
        return list(pool.map(lambda _: deployment.get(path, timeout=CONTRACT_SECONDS), range(WEB_THREADS)))


def assert_unavailable_in_time(answers: list[tuple[requests.Response, float]]) -> None:
    for response, took in answers:
        assert unavailable(response), (response.status_code, response.text)
        assert took < CONTRACT_SECONDS


def assert_recovers(deployment, path: str) -> None:
    """Within the breaker's pause the database is tried again; from then on, 200."""
    deadline = time.monotonic() + BREAKER_SECONDS + CONTRACT_SECONDS + 2
    while True:
        response, _ = deployment.get(path, timeout=CONTRACT_SECONDS)
        if response.status_code == 200:
            break
        assert unavailable(response), (response.status_code, response.text)
        assert time.monotonic() < deadline, "the web process did not recover"
        time.sleep(0.2)
    assert [deployment.get(path, timeout=CONTRACT_SECONDS)[0].status_code for _ in range(WEB_THREADS * 2)] == [200] * (
        WEB_THREADS * 2
    )


FAULTS = {
    "stopped": (PostgresCluster.stop, PostgresCluster.start),
    "frozen": (PostgresCluster.freeze, PostgresCluster.thaw),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_database_backed_requests_answer_503_in_time_then_recover(deployment, fault):
    dish = f"/api/v1/dishes/{deployment.dish_id}"
    fail, restore = FAULTS[fault]
    deployment.warm_up()
    browse = stored_browse_answer(deployment)
    fail(deployment.postgres)
    try:
        kept_open = on_every_thread(deployment, dish)
        time.sleep(BREAKER_SECONDS)  # past the breaker's pause: a new connection is tried
        new = on_every_thread(deployment, dish)
        time.sleep(BREAKER_SECONDS)
        ready, took = deployment.get("/health/ready", timeout=CONTRACT_SECONDS)
        replayed, _ = deployment.get(BROWSE, timeout=CONTRACT_SECONDS)
        # A plain Django view (the admin reads the session from the database).
        admin = requests.get(
            f"{deployment.base_url}/admin/", headers=HTTPS, cookies={"sessionid": "a" * 32}, timeout=CONTRACT_SECONDS
        )
    finally:
        restore(deployment.postgres)

    assert_unavailable_in_time(kept_open)
    assert_unavailable_in_time(new)
    assert (ready.status_code, ready.json()["status"], ready.json()["checks"]["database"]) == (503, "down", "down")
    assert took < CONTRACT_SECONDS
    assert (replayed.status_code, replayed.content) == (200, browse)
    assert unavailable(admin), (admin.status_code, admin.text)
    assert_recovers(deployment, dish)
