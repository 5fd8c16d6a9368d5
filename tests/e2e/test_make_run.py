"""`make run` serves the demo on this machine only unless told otherwise."""

from __future__ import annotations

import os

import pytest
import requests

from tests.e2e.conftest import new_database
from tests.processes import Process, free_port


@pytest.fixture
def empty_database():
    with new_database("ff_run") as database:
        yield database


def test_make_run_listens_on_loopback_by_default(empty_database, tmp_path):
    port = free_port()
    # A laptop's shell: nothing of the test environment, no HOST.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "PORT": str(port)}
    # (photos go to a folder of the test rather than the checkout's media/)
    env["DJANGO_MEDIA_ROOT"] = str(tmp_path / "media")
    run = Process("./scripts/run", env={**env, "DATABASE_URL": empty_database}, log_path=tmp_path / "log")
    try:
        live = run.wait_http(f"http://127.0.0.1:{port}/health/live", timeout=90)

        assert live.status_code == 200
        output = run.output()
        assert f"FoodieFast is starting on http://127.0.0.1:{port}" in output
        assert f"Listening at: http://127.0.0.1:{port}" in output
        assert requests.get(f"http://127.0.0.1:{port}/api/docs/", timeout=5).status_code == 200
        # The demo kitchens and dishes have photos, served by the app itself (no bucket, offline).
        base = f"http://127.0.0.1:{port}"
        dishes = requests.get(f"{base}/api/v1/dishes?lat=48.8566&lng=2.3522", timeout=10).json()["results"]
        assert dishes and all(dish["photo_url"] and dish["photo_thumb_url"] for dish in dishes)
        assert dishes[0]["photo_url"].startswith(f"{base}/media/photos/")
        photo = requests.get(dishes[0]["photo_thumb_url"], timeout=10)
        assert (photo.status_code, photo.headers["Content-Type"]) == (200, "image/webp")
    finally:
        run.stop()
