"""Two checkouts on one machine share nothing by default: not the test database, not
the Redis dbs, not the static files of a test run, not the beat schedule."""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import ROOT, env_with, run_python

# Loads tests/testenv.py of each checkout given, as two runs going on at once would,
# then ends the runs (with PROBE_ONE_AFTER_ANOTHER, each run ends before the next
# starts); prints what each saw.
PROBE = """
import json, os, runpy, sys
runs = []
one_after_another = os.environ.get("PROBE_ONE_AFTER_ANOTHER") == "1"
for path in sys.argv[1:]:
    if one_after_another:
        for testenv, seen in runs[-1:]:
            testenv["pytest_unconfigure"](None)
    for name in ("DATABASE_URL", "REDIS_URL", "E2E_REDIS_URL", "DJANGO_STATIC_ROOT"):
        os.environ.pop(name, None)
    os.environ.update(json.loads(os.environ["PROBE_EXPORTED"]))
    testenv = runpy.run_path(path)
    seen = {name: os.environ[name] for name in ("DATABASE_URL", "REDIS_URL", "E2E_REDIS_URL", "DJANGO_STATIC_ROOT")}
    seen["static_during_run"] = os.path.isdir(seen["DJANGO_STATIC_ROOT"])
    runs.append((testenv, seen))
for testenv, seen in runs[-1:] if one_after_another else runs:
    testenv["pytest_unconfigure"](None)
for testenv, seen in runs:
    seen["static_after_run"] = os.path.isdir(seen["DJANGO_STATIC_ROOT"])
print(json.dumps([seen for _, seen in runs]))
"""


def runs_in(*checkouts: Path, one_after_another: bool = False, **exported: str) -> list[dict]:
    """What tests/testenv.py sets up for runs going on at once in these checkouts (or
    one after another: each ended before the next starts)."""
    copies = []
    for checkout in checkouts:
        copy = checkout / "tests" / "testenv.py"
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "tests" / "testenv.py", copy)
        copies.append(str(copy))
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *copies],
        # Runs of their own, not this pytest-xdist worker's: without the worker's name
        # and the list of what its tests/testenv.py set, a value exported here that
        # happens to equal the worker's own (its Redis pair) is not taken for inherited.
        env=env_with(
            PROBE_EXPORTED=json.dumps(exported),
            PROBE_ONE_AFTER_ANOTHER="1" if one_after_another else "0",
            PYTEST_XDIST_WORKER=None,
            FOODIEFAST_TESTENV_SET=None,
        ),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(result.stdout)


def redis_db(url: str) -> int:
    return int(url.rsplit("/", 1)[1])


def test_two_checkouts_share_no_database_redis_db_or_static_files(tmp_path):
    first, second = runs_in(tmp_path / "one" / "foodiefast", tmp_path / "two" / "foodiefast")

    assert first["DATABASE_URL"] != second["DATABASE_URL"]
    dbs = [redis_db(run[name]) for run in (first, second) for name in ("REDIS_URL", "E2E_REDIS_URL")]
    assert len(set(dbs)) == 4
    # Redis dbs 0 (make run) and 1 (the old shared default) are never taken
    assert min(dbs) >= 2
    assert max(dbs) <= 15
    assert first["DJANGO_STATIC_ROOT"] != second["DJANGO_STATIC_ROOT"]
    for run in (first, second):
        assert run["static_during_run"] is True
        assert run["static_after_run"] is False


def test_a_checkout_keeps_its_database_and_gets_its_redis_dbs_back_after_a_run(tmp_path):
    checkout = tmp_path / "foodiefast"
    # Back to back in one process: a run of another checkout on this machine starting
    # in between could take the pair that was just given back.
    once, again = runs_in(checkout, checkout, one_after_another=True)

    assert once["DATABASE_URL"] == again["DATABASE_URL"]
    assert once["REDIS_URL"] == again["REDIS_URL"]


def test_exported_variables_win(tmp_path):
    (run,) = runs_in(
        tmp_path / "foodiefast",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/mine",
        REDIS_URL="redis://127.0.0.1:6379/12",
        E2E_REDIS_URL="redis://127.0.0.1:6379/13",
    )

    assert run["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5432/mine"
    assert run["REDIS_URL"] == "redis://127.0.0.1:6379/12"
    assert run["E2E_REDIS_URL"] == "redis://127.0.0.1:6379/13"


@pytest.mark.parametrize("variable", [None, ""], ids=["unset", "empty as in .env.example"])
def test_the_beat_schedule_stays_in_the_checkout_and_out_of_git(variable):
    result = run_python(
        "from django.conf import settings; print(settings.CELERY_BEAT_SCHEDULE_FILENAME)",
        CELERY_BEAT_SCHEDULE_FILENAME=variable,
    )
    schedule = Path(result.stdout.strip())

    assert schedule.parent == ROOT, result.stderr
    ignored = [line.strip() for line in (ROOT / ".gitignore").read_text().splitlines() if line.strip()]
    # beat writes the schedule under its name plus .dat, .dir and .bak
    for written in (schedule.name, f"{schedule.name}.dat", f"{schedule.name}.dir", f"{schedule.name}.bak"):
        assert any(fnmatch.fnmatch(written, pattern) for pattern in ignored), written
