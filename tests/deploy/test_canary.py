"""The canary rollout end to end, as `python -m deploy.demo canary` runs it: two
releases of this repository with their own processes behind Debian's HAProxy,
traffic throughout, each release's /metrics read by the rollout."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.processes import ROOT

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(420)]


def canary(tmp_path, *options: str) -> tuple[subprocess.CompletedProcess, dict]:
    figures = tmp_path / "report.json"
    # Both releases this commit (the canary told apart by its version), short phases and steps.
    releases = ("--old", "HEAD", "--new", "HEAD", "--phase-seconds", "4", "--step-timeout", "100")
    done = subprocess.run(
        [sys.executable, "-m", "deploy.demo", "canary", *releases, "--json", str(figures), *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert figures.exists(), done.stdout + done.stderr
    (report,) = json.loads(figures.read_text())
    return done, report


def failures_by_phase(report: dict) -> dict[str, int]:
    return {row["phase"]: row["failures"] for row in report["rows"] if row["phase"] != "total"}


def canary_share(report: dict, phase: str) -> float:
    """The share (0-100) of the phase's answers that the new release gave."""
    (row,) = (row for row in report["rows"] if row["phase"] == phase)
    answered = sum(row["by_release"].values())
    assert answered > 0, row
    return 100 * row["by_release"].get("new", 0) / answered


def test_a_broken_build_is_rolled_back_by_itself_its_failures_kept_to_the_canary(tmp_path):
    done, report = canary(tmp_path, "--broken", "--steps", "50")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "outcome: ROLLED BACK at 50%: canary error rate" in done.stdout
    (step,) = report["canary"]["steps"]
    assert step["action"] == "rollback"
    assert step["canary"]["requests"] >= 500
    assert step["canary"]["error_rate"] > 0.01
    assert step["stable"]["requests"] > 0
    assert step["stable"]["errors"] == 0
    assert step["users_moved"] == 0
    failed = failures_by_phase(report)
    assert failed.pop("canary 50%") > 0
    assert set(failed.values()) == {0}  # none before the canary took traffic, none after the rollback
    assert 20 < canary_share(report, "canary 50%") < 80
    assert canary_share(report, "rolled back") == 0


def test_a_good_build_is_promoted_step_by_step_without_a_failed_request(tmp_path):
    done, report = canary(tmp_path, "--steps", "25,50")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "outcome: PROMOTED to 100% after 2 steps (25%, 50%)" in done.stdout
    assert report["failed"] == 0
    first, second = report["canary"]["steps"]
    assert [first["action"], second["action"]] == ["promote", "promote"]
    assert first["canary"]["requests"] >= 500 and second["canary"]["requests"] >= 500
    # A user stays on one release within a step, and on the canary as it grows.
    assert first["users_moved"] == second["users_moved"] == 0
    assert set(first["canary_users"]) <= set(second["canary_users"])
    assert 0 < len(second["canary_users"]) < second["users"]
    assert canary_share(report, "stable only") == 0
    assert 5 < canary_share(report, "canary 25%") < 50
    assert canary_share(report, "canary 100%") == 100
