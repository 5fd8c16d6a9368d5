"""The canary analysis on the figures the app itself writes: requests counted by the
web entry's own function, read back through GET /metrics (foodiefast/metrics.py),
windows taken between two scrapes."""

from __future__ import annotations

import math

import pytest

from deploy.demo.analysis import HOLD, PROMOTE, ROLLBACK, WAIT, Scrape, analyse, decide, histogram_quantile
from foodiefast import metrics
from tests.asgi_call import asgi_get
from tests.processes import closed_port
from tests.prometheus import metrics_app
from tests.prometheus import scrape as scrape_text

MENU = "/api/v1/dishes"
CHECKOUT = "/api/v1/orders"


@pytest.fixture
def app(settings, db):
    return metrics_app(settings)


def scrape(app) -> Scrape:
    return Scrape.parse(scrape_text(app))


def serve(*, route: str = MENU, method: str = "GET", status: int = 200, seconds: float | None = 0.004, times: int = 1):
    for _ in range(times):
        metrics.request_observed(route, method, status, seconds)


def window(app, traffic):
    """The requests ``traffic`` serves, as the analysis reads them from /metrics."""
    before = scrape(app)
    traffic()
    return scrape(app).since(before)


def test_a_window_counts_the_users_requests_and_their_5xx_only(app):
    def traffic():
        serve(times=300)
        serve(route=CHECKOUT, method="POST", status=201, seconds=0.05, times=100)
        serve(route=CHECKOUT, method="POST", status=503, seconds=0.01, times=4)
        serve(route=CHECKOUT, method="POST", status=400, times=6)
        serve(route="/api/v1/orders/<uuid:order_id>/tracking/stream", seconds=None, times=2)  # a stream: not timed
        for _ in range(20):  # the balancer's probes and the scrapes are not users' traffic
            assert asgi_get(app, "/health/live").status == 200

    found = window(app, traffic)

    assert found.requests == 412
    assert found.errors == 4
    assert found.error_rate == pytest.approx(4 / 412)
    assert dict(found.buckets)[math.inf] == 410  # every timed request, once


def test_the_p99_is_interpolated_within_its_bucket_as_prometheus_does(app):
    # 0.03 s lies in the bucket (0.025, 0.04]; 1.2 s in (1.0, 1.5].
    found = window(app, lambda: (serve(seconds=0.03, times=980), serve(seconds=1.2, times=20)))

    assert found.quantile(0.5) == pytest.approx(0.025 + 0.015 * 500 / 980)
    assert found.quantile(0.98) == pytest.approx(0.04)
    # rank 990 is the 10th of the 20 in (1.0, 1.5]
    assert found.quantile(0.99) == pytest.approx(1.0 + 0.5 * 10 / 20)


def test_a_quantile_past_the_last_bound_is_the_last_bound_and_none_without_requests(app):
    assert window(app, lambda: serve(seconds=45.0, times=10)).quantile() == 30.0
    assert math.isnan(window(app, lambda: None).quantile())
    # the first bucket starts at 0
    assert histogram_quantile(0.5, [(0.0025, 10), (math.inf, 10)]) == pytest.approx(0.00125)


def test_a_release_restarted_between_two_scrapes_counts_from_zero(app):
    route = "/api/v1/chefs"
    serve(route=route, times=50)
    earlier = scrape(app)
    serve(route=route, times=30)
    later = scrape(app)
    # Read the other way round: the earlier figures stand for a restarted process's
    # first ones, lower than the last scrape's, so they count from zero.
    restarted = earlier.since(later)
    assert restarted.requests == earlier.requests[(route, "GET", "200")] >= 50


def canary_and_stable(app, canary_traffic, stable_traffic):
    start = scrape(app)
    canary_traffic()
    middle = scrape(app)
    stable_traffic()
    return middle.since(start), scrape(app).since(middle)


def stable_traffic():
    serve(seconds=0.004, times=2000)
    serve(route=CHECKOUT, method="POST", status=201, seconds=0.08, times=200)


def test_a_canary_with_too_few_requests_waits(app):
    canary, stable = canary_and_stable(app, lambda: serve(status=500, times=499), stable_traffic)

    verdict = decide(canary, stable)

    assert verdict.action == WAIT
    assert "499 requests, fewer than 500" in str(verdict)


def failing(*, answered: int, failed: int, status: int = 500):
    """Traffic of ``answered`` requests, ``failed`` of them with ``status``."""
    return lambda: (serve(times=answered - failed), serve(status=status, times=failed))


def test_a_canary_failing_more_than_one_percent_is_rolled_back(app):
    canary, stable = canary_and_stable(app, failing(answered=500, failed=20), stable_traffic)

    verdict = decide(canary, stable)

    assert verdict.action == ROLLBACK
    assert verdict.reasons == ("canary error rate 4.00% above 1%",)


def test_a_canary_failing_no_more_than_stable_is_held_not_judged(app):
    canary, stable = canary_and_stable(
        app, failing(answered=500, failed=30, status=503), failing(answered=2000, failed=200, status=503)
    )

    verdict = decide(canary, stable)

    assert verdict.action == HOLD
    assert verdict.reasons == (
        "canary error rate 6.00% above 1%, but stable's is 10.00%: a failure they share, not the canary's",
    )


def test_a_canary_at_one_percent_of_errors_as_fast_as_stable_is_promoted(app):
    def canary_traffic():
        serve(times=495)
        serve(status=502, times=5)
        serve(route=CHECKOUT, method="POST", status=201, seconds=0.08, times=50)

    canary, stable = canary_and_stable(app, canary_traffic, stable_traffic)

    verdict = decide(canary, stable)

    assert verdict.action == PROMOTE, str(verdict)
    assert canary.error_rate == pytest.approx(5 / 550)


def test_a_canary_whose_p99_is_over_twice_stables_is_rolled_back(app):
    def canary_traffic():
        serve(times=480)
        serve(seconds=0.5, times=20)  # 4 % of requests slow: the p99 among them

    canary, stable = canary_and_stable(app, canary_traffic, stable_traffic)

    verdict = decide(canary, stable)

    assert verdict.action == ROLLBACK
    (reason,) = verdict.reasons
    assert reason.startswith("canary p99 ")
    assert "above 2 x stable's" in reason
    assert canary.quantile() > 2 * stable.quantile()


def test_a_slow_canary_beside_an_as_slow_stable_is_promoted(app):
    def slow_stable():
        serve(times=1900)
        serve(seconds=0.5, times=100)

    canary, stable = canary_and_stable(app, lambda: (serve(times=480), serve(seconds=0.5, times=20)), slow_stable)

    assert decide(canary, stable).action == PROMOTE


def test_a_canary_whose_figures_cannot_be_read_is_rolled_back():
    gone = f"http://127.0.0.1:{closed_port()}"

    verdict = analyse([gone], [gone], "any-token", timeout=1, interval=0.1)

    assert verdict.action == ROLLBACK
    assert verdict.reasons[0].startswith("figures not readable: ")
