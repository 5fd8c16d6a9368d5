"""The deploy demos' report (deploy/demo/report.py): what a phase's row says and when
a demo fails."""

from __future__ import annotations

from deploy.demo.report import Report
from deploy.demo.traffic import Record


def record(phase: str, kind: str = "browse", *, latency: float = 10.0, status: int = 200, ok: bool = True, **more):
    return Record(kind, phase, 0.0, latency, status, ok, **more)


def test_each_phase_has_its_requests_failures_and_percentiles_in_the_order_phases_began():
    records = [record("2 old web", latency=ms) for ms in range(1, 101)]
    records += [record("replace 1/2", "checkout", latency=5.0, status=201)]
    records += [record("replace 1/2", "ping", latency=0.0, status=0, ok=False, error="ClientConnectorError")]

    report = Report.build("rolling", records, phases=["2 old web", "replace 1/2"])

    first, second, total = report.rows
    assert (first.phase, first.requests, first.failures, first.p50_ms, first.p99_ms) == ("2 old web", 100, 0, 51, 100)
    # A request that got no answer counts as a failure, and not in the latency.
    assert (second.requests, second.failures, second.p50_ms, second.p99_ms) == (2, 1, 5.0, 5.0)
    assert second.by_kind == {"checkout": 1, "ping": 1}
    assert (total.phase, total.requests, total.failures) == ("total", 102, 1)
    assert report.failed == 1
    assert report.exit_code() == 1
    assert "replace 1/2: ping ClientConnectorError" in report.render()


def test_a_clean_run_exits_zero_and_says_so():
    report = Report.build("blue-green", [record("blue live")], phases=["blue live"], streams=_streams(lost=0))

    assert report.failed == 0
    assert report.exit_code() == 0
    assert "result: 0 failed requests" in report.render()


def test_an_event_a_stream_lost_fails_the_run():
    report = Report.build("rolling", [record("blue live")], phases=["blue live"], streams=_streams(lost=2))

    assert report.failed == 2
    assert report.exit_code() == 1
    assert "2 lost" in report.render()


def test_a_strategy_that_may_fail_exits_zero_with_failures():
    report = Report.build("canary", [record("broken", ok=False, status=500)], phases=["broken"], must_be_clean=False)

    assert report.failed == 1
    assert report.exit_code() == 0


def test_the_share_of_answers_from_the_new_release_per_phase():
    records = [record("switch", release="new")] * 3 + [record("switch", release="old")]
    records += [record("switch", status=0, ok=False)]  # no answer: no release

    report = Report.build("blue-green", records, phases=["switch"])

    assert report.rows[0].share("new") == 75
    assert report.as_dict()["rows"][0]["by_release"] == {"new": 3, "old": 1}


def test_a_phase_without_traffic_shows_zeros():
    report = Report.build("rolling", [], phases=["idle"])

    assert [(r.phase, r.requests, r.p50_ms, r.p99_ms) for r in report.rows] == [("idle", 0, 0, 0), ("total", 0, 0, 0)]


def _streams(*, lost: int) -> dict:
    return {
        "streams": 8,
        "connections": 16,
        "reconnections": 8,
        "events_expected": 100,
        "events_received": 100 - lost,
        "events_lost": lost,
        "events_duplicated": 0,
        "ended_without_retry": 0,
    }
