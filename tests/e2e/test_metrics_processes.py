"""/metrics through the Procfile's web process: two gunicorn workers, whichever
answers a scrape shows the requests both served, and a worker's restart loses none."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.processes import start_web, wait_for
from tests.prometheus import sample

TOKEN = "e2e-metrics-token"
HTTPS = {"X-Forwarded-Proto": "https"}
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def web_with_metrics(released, tmp_path_factory):
    process = start_web({**released, "METRICS_TOKEN": TOKEN}, log_path=tmp_path_factory.mktemp("web-metrics") / "log")
    try:
        yield process
    finally:
        process.stop()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def gunicorn_workers(process) -> list[int]:
    """The pids of the server's workers (the master's children)."""
    pids = [process.popen.pid, *_children(process.popen.pid)]
    # The shell running the Procfile's line (if it did not exec) names gunicorn too.
    masters = [pid for pid in pids if _is_gunicorn(pid)]
    return _children(masters[0])


def _is_gunicorn(pid: int) -> bool:
    """Whether ``pid`` runs gunicorn (a process being reaped has an empty command line)."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return len(arguments) > 1 and arguments[1].endswith(b"gunicorn")


def metrics_files(pid: int) -> set[Path]:
    """The figure files a worker has open (prometheus_client maps them in memory)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {Path(m) for m in re.findall(r"(/\S*foodiefast-metrics-\S+\.db)$", maps, re.MULTILINE)}


def own_figures(paths: set[Path]) -> str:
    """One worker's figures alone, as text."""
    registry = CollectorRegistry()
    registry.register(_Merged(paths))
    return generate_latest(registry).decode()


class _Merged:
    def __init__(self, paths: set[Path]) -> None:
        self.paths = [str(p) for p in paths]

    def collect(self):
        return MultiProcessCollector.merge(self.paths, accumulate=True)


def scrape(base: str) -> str:
    response = requests.get(f"{base}/metrics", headers={**SCRAPE, "Connection": "close"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def live_count(text: str) -> float:
    return sample(
        text, "foodiefast_http_requests_total", route="/health/live", method="GET", status="200", release="test"
    )


def settled_scrape(base: str) -> str:
    """A scrape once the workers have written what they counted so far (the start-up
    probes included): two scrapes a second apart agree."""
    previous = scrape(base)
    for _ in range(20):
        time.sleep(1)
        current = scrape(base)
        if live_count(current) == live_count(previous):
            return current
        previous = current
    raise AssertionError("the /health/live count never settled")


def test_metrics_need_the_token_on_plain_http(web_with_metrics):
    base = web_with_metrics.base_url
    assert requests.get(f"{base}/metrics", timeout=5).status_code == 401
    assert requests.get(f"{base}/metrics", headers={"Authorization": "Bearer nope"}, timeout=5).status_code == 401
    assert "foodiefast_release_info" in scrape(base)


def test_every_scrape_sums_both_workers_and_a_restarted_worker_loses_nothing(web_with_metrics):
    base = web_with_metrics.base_url
    before = settled_scrape(base)
    features_labels = {"route": "/api/v1/features", "method": "GET", "status": "200", "release": "test"}

    def get(path: str, headers: dict) -> int:
        return requests.get(f"{base}{path}", headers={**headers, "Connection": "close"}, timeout=10).status_code

    workers = gunicorn_workers(web_with_metrics)
    assert len(workers) == 2
    # Each worker in turn takes every new connection while the other is stopped
    # (briefly: well within gunicorn's 30 s timeout).
    for paused in workers:
        os.kill(paused, signal.SIGSTOP)
        try:
            assert [get("/health/live", {}) for _ in range(30)] == [200] * 30
            assert [get("/api/v1/features", HTTPS) for _ in range(10)] == [200] * 10
        finally:
            os.kill(paused, signal.SIGCONT)

    # Each worker writes its counts at least every half second (the probes' and the
    # features' requests of one worker may land in two writes: wait for both).
    def features_count(text: str) -> float:
        return sample(text, "foodiefast_http_requests_total", **features_labels)

    def all_counted() -> bool:
        text = scrape(base)
        return live_count(text) - live_count(before) == 60 and features_count(text) - features_count(before) == 20

    assert wait_for(all_counted, timeout=15)
    # Each worker writes figure files of its own, in the server's one directory.
    files = {pid: metrics_files(pid) for pid in workers}
    assert len({path.parent for paths in files.values() for path in paths}) == 1
    served = {pid: live_count(own_figures(paths)) for pid, paths in files.items()}
    assert all(count >= 30 for count in served.values()), served
    assert sum(served.values()) == live_count(scrape(base))
    directory = next(iter(files[workers[0]])).parent
    for _ in range(8):  # whichever worker answers
        text = scrape(base)
        assert live_count(text) - live_count(before) == 60
        assert (
            sample(text, "foodiefast_http_requests_total", **features_labels)
            - sample(before, "foodiefast_http_requests_total", **features_labels)
            == 20
        )

    os.kill(workers[0], signal.SIGTERM)  # gunicorn starts another in its place
    assert wait_for(
        lambda: len(gunicorn_workers(web_with_metrics)) == 2 and workers[0] not in gunicorn_workers(web_with_metrics)
    )
    for _ in range(8):
        assert live_count(scrape(base)) - live_count(before) == 60  # the old worker's requests still count

    web_with_metrics.stop()
    assert wait_for(lambda: not directory.exists())  # a server's figures live as long as it does
