"""The Procfile's web process against a PostgreSQL cluster and a redis-server of its
own, which the fault tests stop, freeze and resume. One deployment per session."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests

from tests.faults.servers import PostgresCluster
from tests.processes import Process, RedisServer, env_with, procfile_command, run_python, start_web

HTTPS = {"X-Forwarded-Proto": "https"}
PARIS = "lat=48.861&lng=2.336"
# Few threads, one process: after a warm-up every thread holds a kept-open connection.
WEB_THREADS = 4

SEED = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup();"
    "from tests.factories.menus import DishFactory; print(DishFactory().id)"
)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.faults)


@dataclass
class Deployment:
    web: Process
    base_url: str
    postgres: PostgresCluster
    redis: RedisServer
    dish_id: str

    def get(self, path: str, *, timeout: float, session: requests.Session | None = None):
        """(the answer, how long it took); ``timeout`` is the bound the contract names."""
        started = time.monotonic()
        response = (session or requests).get(f"{self.base_url}{path}", headers=HTTPS, timeout=timeout)
        return response, time.monotonic() - started

    def warm_up(self) -> None:
        """Every web thread uses (and keeps open) a database connection."""
        path = f"/api/v1/dishes/{self.dish_id}"
        with ThreadPoolExecutor(WEB_THREADS * 2) as pool:
            for _ in range(3):
                statuses = pool.map(lambda _: self.get(path, timeout=10)[0].status_code, range(WEB_THREADS * 4))
                assert set(statuses) == {200}


@pytest.fixture(scope="session")
def postgres_cluster():
    cluster = PostgresCluster()
    try:
        yield cluster
    finally:
        cluster.drop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def deployment(postgres_cluster, redis_server, tmp_path_factory):
    """Released (migrated), seeded with one dish, served by the Procfile's web line."""
    env = env_with(
        DATABASE_URL=postgres_cluster.create_database("foodiefast"),
        REDIS_URL=redis_server.url,
        CELERY_BROKER_URL=None,
        WEB_CONCURRENCY="1",
        WEB_THREADS=str(WEB_THREADS),
        DJANGO_LOG_LEVEL="WARNING",
    )
    release = Process(procfile_command("release"), env=env, log_path=tmp_path_factory.mktemp("release") / "log")
    assert release.popen.wait(timeout=120) == 0, release.output()
    seeded = run_python(SEED, **env)
    assert seeded.returncode == 0, seeded.stderr
    dish_id = seeded.stdout.split()[-1]

    web = start_web(env, log_path=tmp_path_factory.mktemp("web") / "log")
    try:
        yield Deployment(web=web, base_url=web.base_url, postgres=postgres_cluster, redis=redis_server, dish_id=dish_id)
    finally:
        web.stop()


def unavailable(response: requests.Response) -> bool:
    """The API's 503: JSON ``service_unavailable`` with ``Retry-After``, nothing leaked."""
    body = json.loads(response.content)
    return (
        response.status_code == 503
        and response.headers["Content-Type"] == "application/json"
        and body["code"] == "service_unavailable"
        and set(body) == {"code", "detail"}
        and int(response.headers["Retry-After"]) >= 1
    )
