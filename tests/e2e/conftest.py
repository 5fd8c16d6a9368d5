"""The real processes of the Procfile, started on loopback against a fresh database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from tests.mailserver import SmtpServer
from tests.processes import ROOT, Process, RedisServer, env_with, procfile_command, publish_to, start_web

ADMIN_DB = "postgres://postgres@127.0.0.1:5432/postgres"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def mailbox():
    """The deployment's mail server: aiosmtpd on loopback, keeping what it receives
    (a test may stop it and start it again on the same port)."""
    server = SmtpServer().start()
    yield server
    server.stop()


@contextmanager
def new_database(prefix: str) -> Iterator[str]:
    """A new empty PostgreSQL database named ``<prefix>_<random>``: its URL. Dropped
    on exit, whoever is still connected."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DB, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN_DB, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def e2e_env(tmp_path_factory, localstripe_server, mailbox):
    """Variables of a deployment: a new empty database, its own Redis db, Stripe
    played by the session's localstripe, mail to the session's SMTP server (retried
    after 1 s, doubling)."""
    with new_database("ff_e2e") as database:
        yield env_with(
            DATABASE_URL=database,
            REDIS_URL=os.environ.get("E2E_REDIS_URL", "redis://127.0.0.1:6379/9"),
            DJANGO_LOG_LEVEL="INFO",
            WEB_CONCURRENCY="2",
            CELERY_BEAT_SCHEDULE_FILENAME=str(tmp_path_factory.mktemp("beat") / "schedule"),
            STRIPE_API_BASE=localstripe_server,
            EMAIL_URL=f"smtp://127.0.0.1:{mailbox.port}",
            MAIL_RETRY_SECONDS="1",
        )


def on_test_database(**variables: str) -> dict[str, str]:
    """The variables of processes that serve the test database (which the test reads
    and writes with the ORM), logging at INFO, with ``variables``."""
    from django.db import connection

    db = connection.settings_dict
    return env_with(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        DJANGO_LOG_LEVEL="INFO",
        **variables,
    )


@pytest.fixture(scope="session")
def released(e2e_env, tmp_path_factory):
    """The Procfile's ``release`` run against the empty database."""
    release = Process(procfile_command("release"), env=e2e_env, log_path=tmp_path_factory.mktemp("release") / "log")
    code = release.popen.wait(timeout=120)
    assert code == 0, release.output()
    return e2e_env


@pytest.fixture(scope="session")
def web(released, tmp_path_factory):
    """The Procfile's ``web`` line, bound to 127.0.0.1 on a free port."""
    process = start_web(released, log_path=tmp_path_factory.mktemp("web") / "log")
    try:
        yield process
    finally:
        process.stop()


def _procfile_process(process_type: str, env: dict[str, str], tmp_path_factory):
    process = Process(
        procfile_command(process_type), env=env, log_path=tmp_path_factory.mktemp(f"{process_type}-log") / "log"
    )
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def worker(released, tmp_path_factory):
    """The Procfile's ``worker``: a real Celery worker on the deployment's Redis."""
    yield from _procfile_process("worker", released, tmp_path_factory)


@pytest.fixture(scope="session")
def beat(released, tmp_path_factory):
    """The Procfile's ``beat``: the periodic sweeps, on the deployment's Redis."""
    yield from _procfile_process("beat", released, tmp_path_factory)


def approve_chef(env: dict[str, str], email: str, *, root: Path = ROOT) -> None:
    """What platform staff run: ``manage.py approve_chef <email>`` (with the release
    checked out at ``root``)."""
    approved = subprocess.run(
        [sys.executable, "manage.py", "approve_chef", email],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert approved.returncode == 0, approved.stderr


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A private redis-server as the broker, that a test may stop or freeze; this
    process publishes there too while the module runs."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    previous = publish_to(server.url)
    yield server
    publish_to(previous)
    server.close()


@pytest.fixture
def screenshots():
    """A temporary folder for the browser tests' screenshots (``SCREENSHOTS``, or
    ``BOARD_SCREENSHOTS``, keeps them elsewhere, e.g. ``docs/screenshots``)."""
    kept = os.environ.get("SCREENSHOTS") or os.environ.get("BOARD_SCREENSHOTS")
    folder = Path(kept) if kept else Path(tempfile.mkdtemp(prefix="screenshots-"))
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    if not kept:
        shutil.rmtree(folder, ignore_errors=True)
