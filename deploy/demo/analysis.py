"""Canary analysis: the canary's error rate and p99 against the stable release's,
read from each release's own ``/metrics`` over the same window.

Each release's web processes write their figures to a directory of their own
(gunicorn.conf.py), so each release is scraped directly, never through the balancer,
and the figures of one release's servers are summed. Two scrapes make a window: the
request counter by status and the latency histogram are taken as differences
between them (a counter that went back, its process restarted, counts from zero as
Prometheus' ``increase`` does). Probes and scrapes are not users' traffic and are
left out (:data:`NOT_TRAFFIC`).

The verdict (:func:`decide`): with at least ``min_requests`` canary requests in the
window, roll back when the canary's 5xx share is above ``max_error_rate`` or its p99
above ``max_latency_ratio`` times the stable release's, promote otherwise; with fewer,
wait. A canary failing no more than the stable release is not worse than it: both
are (a database or broker outage they share), rolling back would not help and
promoting would not be justified, so the verdict is to hold and watch a new window.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import requests
from prometheus_client.parser import text_string_to_metric_families

REQUESTS_TOTAL = "foodiefast_http_requests_total"
LATENCY_BUCKET = "foodiefast_http_request_duration_seconds_bucket"
# Routes that are the platform's, not users': the balancer's probes, the scrapes.
NOT_TRAFFIC = ("/health/", "/metrics", "/version")

MIN_REQUESTS = 500
MAX_ERROR_RATE = 0.01
MAX_LATENCY_RATIO = 2.0
QUANTILE = 0.99

PROMOTE, ROLLBACK, WAIT, HOLD = "promote", "rollback", "wait", "hold"


def is_traffic(route: str) -> bool:
    return not route.startswith(NOT_TRAFFIC)


def histogram_quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float:
    """The ``q`` quantile of a histogram given as (upper bound, cumulative count)
    pairs, the last bound ``+Inf``: as Prometheus' ``histogram_quantile``, linear
    within the bucket the rank falls in (its lower bound 0 for the first bucket), the
    highest finite bound when it falls in ``+Inf``'s; NaN without observations."""
    ordered = sorted(buckets)
    if len(ordered) < 2 or not math.isinf(ordered[-1][0]):
        return math.nan
    total = ordered[-1][1]
    if total <= 0:
        return math.nan
    rank = q * total
    index = next(i for i, (_, count) in enumerate(ordered) if count >= rank or i == len(ordered) - 1)
    if index == len(ordered) - 1:
        return ordered[-2][0]
    upper, count = ordered[index]
    if index == 0:
        lower, below = 0.0, 0.0
        if upper <= 0:
            return upper
    else:
        lower, below = ordered[index - 1]
    in_bucket = count - below
    if in_bucket <= 0:
        return upper
    return lower + (upper - lower) * (rank - below) / in_bucket


@dataclass(frozen=True)
class Scrape:
    """One release's cumulative figures at one moment (its servers' scrapes summed):
    requests by (route, method, status), latency buckets by (route, method, bound)."""

    requests: dict[tuple[str, str, str], float] = field(default_factory=dict)
    buckets: dict[tuple[str, str, float], float] = field(default_factory=dict)

    @classmethod
    def parse(cls, *texts: str) -> Scrape:
        requests_by: dict[tuple[str, str, str], float] = defaultdict(float)
        buckets_by: dict[tuple[str, str, float], float] = defaultdict(float)
        for text in texts:
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    labels = sample.labels
                    if sample.name == REQUESTS_TOTAL:
                        key = (labels["route"], labels["method"], labels["status"])
                        requests_by[key] += sample.value
                    elif sample.name == LATENCY_BUCKET:
                        buckets_by[(labels["route"], labels["method"], float(labels["le"]))] += sample.value
        return cls(dict(requests_by), dict(buckets_by))

    def since(self, earlier: Scrape) -> Window:
        """The users' traffic between ``earlier`` and this scrape."""
        total = errors = 0.0
        for key, value in self.requests.items():
            if is_traffic(key[0]):
                served = _increase(earlier.requests.get(key, 0.0), value)
                total += served
                if key[2].startswith("5"):
                    errors += served
        cumulative: dict[float, float] = defaultdict(float)
        for (route, method, bound), value in self.buckets.items():
            if is_traffic(route):
                cumulative[bound] += _increase(earlier.buckets.get((route, method, bound), 0.0), value)
        return Window(requests=total, errors=errors, buckets=tuple(sorted(cumulative.items())))


def _increase(before: float, after: float) -> float:
    return after - before if after >= before else after


@dataclass(frozen=True)
class Window:
    """One release's users' requests over a window: how many, how many 5xx, and the
    latency histogram of the timed ones (event streams are counted, not timed)."""

    requests: float
    errors: float
    buckets: tuple[tuple[float, float], ...]

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def quantile(self, q: float = QUANTILE) -> float:
        return histogram_quantile(q, self.buckets)

    def describe(self) -> str:
        p99 = self.quantile()
        latency = "no timed request" if math.isnan(p99) else f"p99 {p99 * 1000:.1f} ms"
        return f"{self.requests:.0f} requests, {self.errors:.0f} 5xx ({self.error_rate:.2%}), {latency}"


@dataclass(frozen=True)
class Verdict:
    action: str  # PROMOTE, ROLLBACK or WAIT
    reasons: tuple[str, ...]
    canary: Window
    stable: Window

    def __str__(self) -> str:
        return (
            f"{self.action}: {'; '.join(self.reasons)}\n"
            f"  canary: {self.canary.describe()}\n  stable: {self.stable.describe()}"
        )


def decide(
    canary: Window,
    stable: Window,
    *,
    min_requests: int = MIN_REQUESTS,
    max_error_rate: float = MAX_ERROR_RATE,
    max_latency_ratio: float = MAX_LATENCY_RATIO,
) -> Verdict:
    """Promote, roll back or wait, from the canary's and the stable release's
    figures over the same window."""
    if canary.requests < min_requests:
        reason = f"the canary served {canary.requests:.0f} requests, fewer than {min_requests}"
        return Verdict(WAIT, (reason,), canary, stable)
    worse = []
    if canary.error_rate > max_error_rate:
        if canary.error_rate <= stable.error_rate:
            reason = (
                f"canary error rate {canary.error_rate:.2%} above {max_error_rate:.0%}, but stable's is"
                f" {stable.error_rate:.2%}: a failure they share, not the canary's"
            )
            return Verdict(HOLD, (reason,), canary, stable)
        worse.append(f"canary error rate {canary.error_rate:.2%} above {max_error_rate:.0%}")
    canary_p99, stable_p99 = canary.quantile(), stable.quantile()
    if not math.isnan(canary_p99) and not math.isnan(stable_p99) and canary_p99 > max_latency_ratio * stable_p99:
        worse.append(
            f"canary p99 {canary_p99 * 1000:.1f} ms above {max_latency_ratio:g} x stable's {stable_p99 * 1000:.1f} ms"
        )
    if worse:
        return Verdict(ROLLBACK, tuple(worse), canary, stable)
    return Verdict(
        PROMOTE,
        (
            f"canary error rate {canary.error_rate:.2%} within {max_error_rate:.0%}",
            _latency_within(canary_p99, stable_p99, max_latency_ratio),
        ),
        canary,
        stable,
    )


def _latency_within(canary_p99: float, stable_p99: float, ratio: float) -> str:
    if math.isnan(stable_p99) or math.isnan(canary_p99):
        return "no p99 to compare"
    return f"canary p99 {canary_p99 * 1000:.1f} ms within {ratio:g} x stable's {stable_p99 * 1000:.1f} ms"


# ---------------------------------------------------------------------------
# Reading the releases
# ---------------------------------------------------------------------------


def scrape(base_urls: Iterable[str], token: str, *, timeout: float = 10) -> Scrape:
    """One release's figures now: each of its servers' ``/metrics``, summed."""
    texts = []
    for base in base_urls:
        response = requests.get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {token}", "Connection": "close"}, timeout=timeout
        )
        response.raise_for_status()
        texts.append(response.text)
    return Scrape.parse(*texts)


def analyse(
    canary_urls: list[str],
    stable_urls: list[str],
    token: str,
    *,
    min_requests: int = MIN_REQUESTS,
    timeout: float = 120,
    interval: float = 1.0,
    on_wait: Callable[[Verdict], None] | None = None,
) -> Verdict:
    """Watch both releases from now until the canary has served ``min_requests``
    (its figures read every ``interval`` seconds), then the verdict over that window
    (a HOLD starts a new window from then).
    A canary that does not reach that many in ``timeout`` seconds gets the verdict it
    has then (WAIT): the caller decides what an inconclusive step means. Figures that
    cannot be read (a process gone, a scrape refused) are a ROLLBACK: nothing shows
    the canary is as good."""
    try:
        canary_start, stable_start = scrape(canary_urls, token), scrape(stable_urls, token)
    except requests.RequestException as exc:
        return _unreadable(exc)
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(interval)
        try:
            canary_now, stable_now = scrape(canary_urls, token), scrape(stable_urls, token)
        except requests.RequestException as exc:
            return _unreadable(exc)
        verdict = decide(canary_now.since(canary_start), stable_now.since(stable_start), min_requests=min_requests)
        if verdict.action in (PROMOTE, ROLLBACK) or time.monotonic() > deadline:
            return verdict
        if verdict.action == HOLD:
            canary_start, stable_start = canary_now, stable_now
        if on_wait is not None:
            on_wait(verdict)


def _unreadable(exc: Exception) -> Verdict:
    nothing = Window(requests=0, errors=0, buckets=())
    return Verdict(ROLLBACK, (f"figures not readable: {exc}",), nothing, nothing)
