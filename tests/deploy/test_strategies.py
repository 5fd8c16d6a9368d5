"""Each deploy strategy run briefly end to end (python -m deploy.demo): the previous
commit and this one, each its own processes behind HAProxy, real traffic in every
phase, and not one failed request or lost stream event."""

from __future__ import annotations

import subprocess

import pytest

from deploy.demo.__main__ import run_strategy
from tests.processes import ROOT

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(300)]
PHASE_SECONDS = 5


def previous_commit() -> str:
    """HEAD~1 as the old release (a clean clone has the history); HEAD when there is none."""
    found = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "HEAD~1"], cwd=ROOT, capture_output=True, check=False
    )
    return "HEAD~1" if found.returncode == 0 else "HEAD"


def demo(strategy: str):
    report = run_strategy(
        strategy, old=previous_commit(), new="HEAD", phase_seconds=PHASE_SECONDS, quiet=True, label=f"test-{strategy}"
    )
    print(report.render())
    phases = report.rows[:-1]
    for row in phases:
        # Every kind of traffic ran in every phase.
        assert all(row.by_kind.get(kind) for kind in ("browse", "checkout", "ping")), (row, report.render())
    assert report.rows[-1].by_kind.get("stream"), report.render()
    assert report.failed == 0, report.render()
    assert report.streams["events_lost"] == 0
    assert report.streams["events_duplicated"] == 0
    assert report.streams["events_received"] > 0
    assert report.exit_code() == 0
    return {row.phase: row for row in phases}, report


def test_rolling_replaces_each_web_process_without_a_failed_request():
    phases, report = demo("rolling")

    assert phases["2 old web"].share("new") == 0
    assert 0 < phases["1 old + 1 new web"].share("new") < 100
    assert phases["0 old + 2 new web"].share("new") == 100
    # Each old process's streams ended with a retry hint and came back elsewhere.
    assert report.streams["reconnections"] >= report.streams["streams"]


def test_blue_green_switches_at_once_and_back_without_a_failed_request():
    phases, _ = demo("blue-green")

    assert phases["blue live (old)"].share("new") == 0
    # Green takes no traffic before the switch (but a request begun just before the
    # switch, counted in this phase, may reach HAProxy just after it).
    assert phases["green started beside blue"].share("new") < 1
    # After each switch the side switched to answers; a request or two at the switch's
    # instant may still reach the other side (seen with both test workers busy; never
    # a failure), so at least 99 % rather than all.
    assert phases["green live (new)"].share("new") >= 99
    assert phases["switched back to blue"].share("new") <= 1
    assert phases["green again"].share("new") >= 99
    for phase in ("green live (new)", "switched back to blue", "green again"):
        assert phases[phase].requests > 100


def test_graceful_restarts_under_load_drop_no_request():
    phases, report = demo("restarts")

    assert list(phases) == ["2 web", "SIGHUP web.1", "SIGHUP web.2", "SIGTERM web.1 in rotation", "fresh web started"]
    # The reloaded workers' and the stopped process's streams reconnected.
    assert report.streams["reconnections"] >= 3
