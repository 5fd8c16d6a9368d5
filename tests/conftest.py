"""Fixtures every test folder shares: HTTP clients, users, a clean cache."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from celery import current_app
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories.accounts import UserFactory
from tests.processes import closed_port, free_port, publish_to


class Client(APIClient):
    """The mobile app's view of the API: HTTPS behind the router, JSON."""

    def __init__(self, **defaults):
        defaults.setdefault("HTTP_X_FORWARDED_PROTO", "https")
        super().__init__(**defaults)

    def as_user(self, user) -> Client:
        token = RefreshToken.for_user(user).access_token
        self.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return self


@pytest.fixture
def api() -> Client:
    return Client()


@pytest.fixture
def make_client():
    """``make_client(user)``: a client signed in as ``user`` (or anonymous)."""

    def make(user=None) -> Client:
        client = Client()
        return client.as_user(user) if user is not None else client

    return make


@pytest.fixture
def customer(db):
    return UserFactory()


@pytest.fixture
def chef_user(db):
    return UserFactory(chef=True)


@pytest.fixture
def courier_user(db):
    return UserFactory(courier=True)


@pytest.fixture(scope="session", autouse=True)
def _collected_static(django_db_blocker):
    """Production serves hashed static files that the build collected: so do tests."""
    from django.conf import settings
    from django.core.management import call_command

    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        call_command("collectstatic", "--noinput", verbosity=0)
    yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hashing strength is not under test; a million PBKDF2 rounds per login would be."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _eager_tasks(request):
    """Unit tests run Celery tasks in-process; end-to-end tests use a real worker."""
    if request.node.get_closest_marker("e2e"):
        yield
        return
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = previous


@pytest.fixture
def broker_down():
    """Celery publishes for real, to a loopback port nothing listens on. A test
    brings the broker back by running tasks in-process again
    (``current_app.conf.task_always_eager = True``)."""
    previous = publish_to(f"redis://127.0.0.1:{closed_port()}/0")
    current_app.conf.task_always_eager = False
    yield
    publish_to(previous)


# ---------------------------------------------------------------------------
# localstripe: the Stripe double, one process per test session, flushed per test
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def localstripe_server(localstripe_process) -> str:
    """The session's localstripe: its base URL."""
    return localstripe_process.base_url


@pytest.fixture(scope="session")
def localstripe_process(tmp_path_factory) -> Iterator[subprocess.Popen]:
    """Start localstripe on a free loopback port (tests/run_localstripe.py keeps its
    state in memory, so no other localstripe on the machine shares it): its process,
    its base URL in ``base_url`` (a test may freeze it with SIGSTOP, and must thaw it).
    Terminated at the end of the session."""
    port = free_port()
    workdir = tmp_path_factory.mktemp("localstripe")
    log = (workdir / "localstripe.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("run_localstripe.py")), str(port)],
        env={**os.environ, "TMPDIR": str(workdir)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.delete(f"{base}/_config/data", timeout=1).raise_for_status()
            break
        except requests.RequestException:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"localstripe did not start; see {workdir / 'localstripe.log'}") from None
            time.sleep(0.1)
    proc.base_url = base
    yield proc
    proc.send_signal(signal.SIGCONT)
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def localstripe(localstripe_server, settings) -> str:
    """A flushed localstripe that the Stripe gateway talks to; its base URL.

    Registered webhooks survive a flush, so they are pointed nowhere here; a test
    that wants localstripe's webhooks registers its own URL."""
    requests.delete(f"{localstripe_server}/_config/data", timeout=5).raise_for_status()
    requests.post(
        f"{localstripe_server}/_config/webhooks/foodiefast",
        data={"url": "http://127.0.0.1:9/nowhere", "secret": "whsec_unused"},
        timeout=5,
    ).raise_for_status()
    settings.PAYMENTS_DEMO = False
    settings.STRIPE_API_BASE = localstripe_server
    return localstripe_server


# ---------------------------------------------------------------------------
# moto: a real S3-compatible server for photos, one process per test session
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def object_store(tmp_path_factory):
    """moto's S3 server on a free loopback port (see tests/objectstore.py)."""
    from tests.objectstore import ObjectStore

    store = ObjectStore(tmp_path_factory.mktemp("moto"))
    yield store
    store.stop()
