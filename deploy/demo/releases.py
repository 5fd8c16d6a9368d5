"""Releases of this repository run side by side on this machine, as a platform runs them.

Public API::

    stage = Stage("rolling")              # the backing services of one demo run: a
                                          # PostgreSQL cluster of its own (or, with
                                          # own_postgres=False, a database of its own on
                                          # the shared server), a private redis-server,
                                          # the processes' environment
    old = Release.prepare("HEAD~1", stage)  # a git worktree of the commit under
                                          # .run/releases/<sha>, its virtualenv, collectstatic
    old.migrate()                         # the Procfile's ``release`` line, from this release
    web = old.start_web()                 # the Procfile's ``web`` line on 127.0.0.1:<port>,
                                          # its own gunicorn master (a WebProcess);
                                          # extra_env={...} adds variables
    web.port, web.base_url, web.pid, web.release
    web.ready()                           # GET /health/ready answers 200 (directly)
    web.reload()                          # SIGHUP: gunicorn starts new workers, stops the old
    web.terminate()                       # SIGTERM to the master: drain streams, finish
                                          # requests, exit (web.wait_exit(timeout))
    web.stop()                            # SIGTERM, then SIGKILL after 15 s
    worker = old.start_worker()           # the Procfile's ``worker`` line (stop() it)
    data = stage.prepared(key, build)     # the database as build() left it (migrate,
                                          # seed), copied from a template made once per key
    stage.close()                         # every process started through it stopped,
                                          # redis-server stopped, the cluster (or the
                                          # database) dropped

Each release runs with the same environment (``stage.env``: debug off, the demo
payment gateway as the bench uses, ``RELEASE_VERSION`` set to its short commit so
``/version`` and ``/metrics`` tell the releases apart). A release whose
``requirements.txt`` is this checkout's runs on this interpreter's virtualenv;
another gets a virtualenv of its own under ``.run/venvs/<hash of the file>``, made
once. Redis is a private ``redis-server`` on a free port: the shared server's 16 dbs
are all spoken for (0 ``make run``, 1 the bench, 2-15 the test runs). PostgreSQL is a
throwaway cluster of its own (``pg_createcluster``, no fsync) for the same reason and
one more: the shared server's 100 connections, which a bench or a test run elsewhere
on the machine may take, would turn into 503s in the demo's report.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import venv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.run import BENCH_ENV, reset_database
from bench.streams import _descendants
from tests.faults.servers import PostgresCluster
from tests.processes import Process, RedisServer, procfile_command, start_web

ROOT = Path(__file__).resolve().parent.parent.parent
RUN_DIR = ROOT / ".run"
RELEASES_DIR = RUN_DIR / "releases"
VENVS_DIR = RUN_DIR / "venvs"
CHECKOUT_ID = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
SHARED_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
# A prepared database (Stage.prepared) is reused this long: the access tokens seeded
# with it last JWT_ACCESS_MINUTES.
TEMPLATE_HOURS = 2

DEMO_ENV = {
    **BENCH_ENV,
    "DJANGO_SECRET_KEY": "deploy-demo-secret-key-long-enough-for-hmac-sha256-signing-0123456789",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DJANGO_LOG_LEVEL": "WARNING",
    # One gunicorn worker per web process: the demos run several at once on 2 cores.
    "WEB_CONCURRENCY": "1",
    "CELERY_CONCURRENCY": "1",
    # Tokens the traffic is given at the start outlive the longest demo; orders it
    # follows do not expire meanwhile.
    "JWT_ACCESS_MINUTES": "240",
    "PAYMENT_EXPIRY_MINUTES": "240",
    "METRICS_TOKEN": "deploy-demo-metrics",
}


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@contextlib.contextmanager
def _locked(path: Path):
    """One preparer of a release (or a virtualenv) at a time, across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Stage:
    """The backing services and environment of one demo run (see the module's doc)."""

    def __init__(self, name: str, *, database: str | None = None, own_postgres: bool = True) -> None:
        self.name = name
        # The last run's logs stay there until the next run of the same name.
        self.workdir = RUN_DIR / "deploy" / name
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir.mkdir(parents=True)
        self.processes: list[Process] = []
        self._lock = threading.Lock()
        self._webs_started = 0
        # PostgreSQL: a cluster of the demo's own by default (whatever else runs on the
        # machine, its connections are the demo's alone); else a database of its own on
        # the shared server, dropped and created as the bench does.
        self.postgres = PostgresCluster() if own_postgres else None
        self.server_url = self.postgres.url() if self.postgres else SHARED_SERVER
        self.database = database or f"ff_deploy_{name}_{CHECKOUT_ID}".replace("-", "_")
        if self.postgres:
            database_url = self.postgres.create_database(self.database)
        else:
            reset_database(self.database, redis_db=None)
            database_url = f"postgres://postgres@127.0.0.1:5432/{self.database}"
        self.redis = RedisServer(self.workdir)
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "PROMETHEUS_MULTIPROC_DIR")},
            **DEMO_ENV,
            "DATABASE_URL": database_url,
            "REDIS_URL": self.redis.url,
            "DJANGO_MEDIA_ROOT": str(self.workdir / "media"),
        }

    def prepared(self, key: str, build: Callable[[], dict]) -> dict:
        """The stage's database as ``build`` leaves it (migrated and seeded), and what
        ``build`` answered: made once per ``key`` and kept as a template database (for
        :data:`TEMPLATE_HOURS`), so the next run of any strategy copies it in a second.
        Redis is not part of it (what the app keeps there it rebuilds). With a cluster
        of the demo's own, which lives as long as the demo, ``build`` simply runs."""
        if self.postgres:
            return build()
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        template = f"ff_deploy_tpl_{digest}_{CHECKOUT_ID}"
        answer = RUN_DIR / "deploy" / "templates" / f"{template}.json"
        with _locked(answer.with_suffix(".lock")):
            fresh = answer.exists() and time.time() - answer.stat().st_mtime < TEMPLATE_HOURS * 3600
            if fresh and _database_exists(template):
                _sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
                _sql(f'CREATE DATABASE "{self.database}" TEMPLATE "{template}"')
                return json.loads(answer.read_text())
            data = build()
            for name in _databases_like(f"ff_deploy_tpl_%_{CHECKOUT_ID}"):
                _sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _sql(f'CREATE DATABASE "{template}" TEMPLATE "{self.database}"')
            answer.write_text(json.dumps(data))
            return data

    def next_web_name(self) -> str:
        """web.1, web.2, ... in the order web processes are asked for, across releases."""
        with self._lock:
            self._webs_started += 1
            return f"web.{self._webs_started}"

    def log_path(self, label: str) -> Path:
        logs = self.workdir / "logs"
        logs.mkdir(exist_ok=True)
        return logs / f"{label}.log"

    def close(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(Exception):
                process.stop()
        self.redis.close()
        if self.postgres:
            self.postgres.drop()
        else:
            with contextlib.suppress(Exception):
                _sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def _sql(statement: str, params: tuple = ()) -> list[tuple]:
    """One statement on the server's maintenance database (autocommit); its rows."""
    import psycopg

    with psycopg.connect(SHARED_SERVER, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def _database_exists(name: str) -> bool:
    return bool(_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)))


def _databases_like(pattern: str) -> list[str]:
    return [row[0] for row in _sql("SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,))]


@dataclass(eq=False)
class WebProcess:
    """One web process of a release: its own gunicorn master on ``port``."""

    release: Release
    process: Process
    port: int
    name: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.popen.pid

    def ready(self) -> bool:
        try:
            return requests.get(f"{self.base_url}/health/ready", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def running(self) -> bool:
        return self.process.popen.poll() is None

    def reload(self) -> None:
        """SIGHUP to the master: new workers with fresh code, the old ones stopped gracefully."""
        os.kill(self.pid, signal.SIGHUP)

    def worker_pids(self) -> set[int]:
        """The master's workers now (its descendants, from /proc)."""
        return set(_descendants(self.pid)) - {self.pid}

    def terminate(self) -> None:
        """SIGTERM to the master (what a platform sends): streams end with a retry hint,
        requests in flight finish, the process exits."""
        if self.running():
            os.kill(self.pid, signal.SIGTERM)

    def wait_exit(self, timeout: float = 20) -> int:
        return self.process.popen.wait(timeout=timeout)

    def stop(self) -> int:
        return self.process.stop()

    def __str__(self) -> str:
        return f"{self.name} ({self.release.short}, :{self.port})"


@dataclass(eq=False)
class Release:
    """A commit of this repository checked out with its own processes."""

    ref: str
    sha: str
    tree: Path
    python: Path
    stage: Stage
    webs: list[WebProcess] = field(default_factory=list)

    @property
    def short(self) -> str:
        return self.sha[:10]

    @property
    def bin_dir(self) -> Path:
        return self.python.parent

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.stage.env,
            "RELEASE_VERSION": self.short,
            "DJANGO_STATIC_ROOT": str(self.tree / "staticfiles"),
        }

    @classmethod
    def prepare(cls, ref: str, stage: Stage) -> Release:
        """The commit ``ref`` names, checked out (once) under .run/releases/<sha>, with
        its virtualenv and its static files collected, as a build does."""
        sha = git("rev-parse", "--verify", f"{ref}^{{commit}}")
        tree = RELEASES_DIR / sha
        with _locked(RELEASES_DIR / f".{sha}.lock"):
            if not (tree / ".git").exists():
                git("worktree", "prune")
                git("worktree", "add", "--detach", "--force", str(tree), sha)
            python = release_python(tree)
            release = cls(ref=ref, sha=sha, tree=tree, python=python, stage=stage)
            if not (tree / "staticfiles" / "staticfiles.json").exists():
                release.run("python manage.py collectstatic --noinput")
        return release

    def run(self, command: str, *, timeout: float = 600) -> subprocess.CompletedProcess:
        """A one-off command in this release (its tree, its virtualenv, the stage's env)."""
        env = {**self.env, "PATH": f"{self.bin_dir}:{self.env.get('PATH', '')}"}
        done = subprocess.run(  # noqa: S602 - the release's own command lines
            command, shell=True, cwd=self.tree, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command!r} failed in {self.short}:\n{done.stdout}{done.stderr}")
        return done

    def migrate(self) -> None:
        """The release phase: the Procfile's ``release`` line of this release."""
        self.run(procfile_command("release", root=self.tree))

    def start_web(
        self,
        *,
        port: int | None = None,
        name: str | None = None,
        timeout: float = 60,
        extra_env: dict[str, str] | None = None,
    ) -> WebProcess:
        """A web process of this release (``extra_env`` added to its environment)."""
        name = name or self.stage.next_web_name()
        label = f"{self.short}-{name}"
        process = start_web(
            {**self.env, **(extra_env or {})},
            log_path=self.stage.log_path(label),
            timeout=timeout,
            port=port,
            root=self.tree,
            bin_dir=self.bin_dir,
        )
        self.stage.processes.append(process)
        web = WebProcess(release=self, process=process, port=process.port, name=name)
        self.webs.append(web)
        return web

    def start_worker(self, *, extra_env: dict[str, str] | None = None) -> Process:
        command = "exec " + procfile_command("worker", root=self.tree)
        process = Process(
            command,
            env={**self.env, **(extra_env or {})},
            log_path=self.stage.log_path(f"{self.short}-worker-{len(self.stage.processes)}"),
            cwd=self.tree,
            bin_dir=self.bin_dir,
        )
        self.stage.processes.append(process)
        return process


def release_python(tree: Path) -> Path:
    """This interpreter when the release's requirements.txt is this checkout's, else the
    interpreter of a virtualenv made (once) for that file."""
    wanted = (tree / "requirements.txt").read_bytes()
    if wanted == (ROOT / "requirements.txt").read_bytes():
        return Path(sys.executable)
    digest = hashlib.sha256(wanted).hexdigest()[:16]
    home = VENVS_DIR / digest
    with _locked(VENVS_DIR / f".{digest}.lock"):
        if not (home / ".installed").exists():
            venv.create(home, with_pip=True, clear=True)
            subprocess.run(
                [
                    str(home / "bin" / "python"),
                    *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
                    *("-r", str(tree / "requirements.txt")),
                ],
                check=True,
            )
            (home / ".installed").touch()
    return home / "bin" / "python"
