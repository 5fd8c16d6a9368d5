"""A frozen Redis (SIGSTOP: connections open, nothing answers) leaves the web process
serving: readiness says ``degraded`` at once, and probes in flight hold up nothing."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from foodiefast.health import READY_REUSE_SECONDS

pytestmark = pytest.mark.timeout(60)

DEGRADED = {"status": "degraded", "checks": {"database": "ok", "cache": "down", "broker": "down"}}


def test_readiness_says_degraded_within_a_second(deployment):
    deployment.redis.freeze()
    try:
        time.sleep(READY_REUSE_SECONDS + 0.1)  # the answer from before the freeze is not reused
        ready, took = deployment.get("/health/ready", timeout=3)
    finally:
        deployment.redis.thaw()

    assert ready.status_code == 200
    assert ready.json() == DEGRADED
    assert took < 1.2


def test_twenty_probes_in_flight_hold_up_neither_liveness_nor_the_database(deployment):
    dish = f"/api/v1/dishes/{deployment.dish_id}"
    deployment.warm_up()
    deployment.redis.freeze()
    try:
        time.sleep(READY_REUSE_SECONDS + 0.1)
        with ThreadPoolExecutor(20) as pool:
            probes = [pool.submit(deployment.get, "/health/ready", timeout=5) for _ in range(20)]
            time.sleep(0.1)  # the probes wait on the checks against the frozen Redis
            assert not any(probe.done() for probe in probes)
            live, live_took = deployment.get("/health/live", timeout=1)
            detail, detail_took = deployment.get(dish, timeout=1)
            answers = [probe.result()[0] for probe in probes]
    finally:
        deployment.redis.thaw()

    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert detail.status_code == 200
    assert detail.json()["id"] == deployment.dish_id
    assert live_took < 0.5
    assert detail_took < 0.5
    assert [(a.status_code, a.json()) for a in answers] == [(200, DEGRADED)] * 20


def test_readiness_is_ok_again_once_redis_resumes(deployment):
    deployment.redis.freeze()
    time.sleep(READY_REUSE_SECONDS + 0.1)
    assert deployment.get("/health/ready", timeout=3)[0].json() == DEGRADED
    deployment.redis.thaw()

    time.sleep(READY_REUSE_SECONDS + 0.1)
    ready, _ = deployment.get("/health/ready", timeout=3)
    assert (ready.status_code, ready.json()["status"]) == (200, "ok")
