"""Two checkouts on one machine share nothing by default: not the test database, not
the Redis dbs, not the static files of a test run, not the beat schedule."""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.processes import ROOT, env_with, run_python

PROBE = """
import json, os, runpy, sys
testenv = runpy.run_path(sys.argv[1])
static = os.environ["DJANGO_STATIC_ROOT"]
seen = {name: os.environ[name] for name in ("DATABASE_URL", "REDIS_URL", "E2E_REDIS_URL")}
seen["static_before"] = os.path.isdir(static)
testenv["pytest_unconfigure"](None)
seen["static_after"] = os.path.isdir(static)
print(json.dumps(seen))
"""


def environment_of(checkout: Path, **env: str | None) -> dict:
    """What tests/testenv.py sets up in a checkout at ``checkout``."""
    copy = checkout / "tests" / "testenv.py"
    copy.parent.mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "testenv.py", copy)
    unset = dict.fromkeys(("DATABASE_URL", "REDIS_URL", "E2E_REDIS_URL", "DJANGO_STATIC_ROOT"))
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(copy)],
        env=env_with(**{**unset, **env}),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(result.stdout)


def redis_db(url: str) -> int:
    return int(url.rsplit("/", 1)[1])


def test_two_checkouts_get_their_own_database_and_static_files(tmp_path):
    first = environment_of(tmp_path / "one" / "foodiefast")
    second = environment_of(tmp_path / "two" / "foodiefast")

    assert first["DATABASE_URL"] != second["DATABASE_URL"]
    for seen in (first, second):
        # Redis dbs 0 (make run) and 1 (the old shared default) are never taken
        assert 2 <= redis_db(seen["REDIS_URL"]) <= 14
        assert redis_db(seen["E2E_REDIS_URL"]) == redis_db(seen["REDIS_URL"]) + 1
        # the run's static files exist while it runs and are gone when it ends
        assert seen["static_before"] is True
        assert seen["static_after"] is False


def test_the_same_checkout_keeps_its_database_and_redis_dbs(tmp_path):
    checkout = tmp_path / "foodiefast"
    once = environment_of(checkout)
    shutil.rmtree(checkout)
    again = environment_of(checkout)

    assert {k: once[k] for k in ("DATABASE_URL", "REDIS_URL")} == {k: again[k] for k in ("DATABASE_URL", "REDIS_URL")}


def test_exported_variables_win(tmp_path):
    seen = environment_of(
        tmp_path / "foodiefast",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/mine",
        REDIS_URL="redis://127.0.0.1:6379/12",
    )

    assert seen["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5432/mine"
    assert seen["REDIS_URL"] == "redis://127.0.0.1:6379/12"


def test_the_beat_schedule_stays_in_the_checkout_and_out_of_git():
    result = run_python(
        "from django.conf import settings; print(settings.CELERY_BEAT_SCHEDULE_FILENAME)",
        CELERY_BEAT_SCHEDULE_FILENAME=None,
    )
    schedule = Path(result.stdout.strip())

    assert schedule.parent == ROOT, result.stderr
    ignored = [line.strip() for line in (ROOT / ".gitignore").read_text().splitlines() if line.strip()]
    # beat writes the schedule under its name plus .dat, .dir and .bak
    for written in (schedule.name, f"{schedule.name}.dat", f"{schedule.name}.dir", f"{schedule.name}.bak"):
        assert any(fnmatch.fnmatch(written, pattern) for pattern in ignored), written
