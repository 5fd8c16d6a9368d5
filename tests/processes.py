"""Helpers for tests that start real processes (the app with other variables, gunicorn)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis
import requests
from celery import current_app

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, *, timeout: float = 15.0, interval: float = 0.1):
    """Poll ``condition`` until it is truthy (bounded); its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def closed_port() -> int:
    """A loopback port nothing listens on (bound and released at once)."""
    return free_port()


def env_with(**overrides: str | None) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_python(code: str, *, timeout: float = 60, **env: str | None) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter at the project root with the given variables."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env_with(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def procfile_command(process_type: str, *, root: Path = ROOT) -> str:
    """The Procfile's command of ``process_type`` (this checkout's, or ``root``'s)."""
    for line in (root / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process_type:
            return command.strip()
    raise LookupError(process_type)


def publish_to(broker_url: str) -> str:
    """Make this process's Celery publish to ``broker_url``; the previous URL. Celery
    keeps its connection pools for the life of the app, so they are dropped too."""
    previous = current_app.conf.broker_url
    current_app.conf.broker_url = broker_url
    current_app._pool = None
    current_app.amqp._producer_pool = None
    return previous


def worker_queues() -> list[str]:
    """The queues the Procfile's worker drains, in its order (highest priority first)."""
    words = procfile_command("worker").split()
    return words[words.index("--queues") + 1].split(",")


class Process:
    """A process started from a shell command line, stopped with SIGTERM. It runs in
    this checkout with this interpreter's scripts first on PATH, unless ``cwd`` and
    ``bin_dir`` say otherwise (another release of the code, its own virtualenv)."""

    def __init__(
        self,
        command: str,
        *,
        env: dict[str, str],
        log_path: Path,
        cwd: Path = ROOT,
        bin_dir: Path | None = None,
    ) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        bin_dir = str(bin_dir or Path(sys.executable).parent)
        env = {**env, "PATH": f"{bin_dir}:{env.get('PATH', '')}"}
        self.popen = subprocess.Popen(  # noqa: S602 - the Procfile's own command line
            command, shell=True, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_http(self, url: str, *, timeout: float = 30) -> requests.Response:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"process exited with {self.popen.returncode}:\n{self.output()}")
            try:
                return requests.get(url, timeout=2)
            # Refused before the socket is bound; a timeout while a booting worker
            # has not yet taken the connection from the backlog.
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_error = exc
                time.sleep(0.2)
        raise TimeoutError(f"{url} did not answer in {timeout}s ({last_error}):\n{self.output()}")

    def stop(self, *, timeout: float = 15) -> int:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, 15)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, 9)
                self.popen.wait()
        self._log.close()
        return self.popen.returncode

    def kill(self) -> None:
        """SIGKILL to its whole process group, as when its machine is lost: nothing of
        it runs any clean-up."""
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")


def _established(side: str, port: int) -> list[str]:
    """``ss``'s lines for the established TCP connections whose ``side`` (``sport``: a
    server's, ``dport``: its clients') is ``port`` on this machine."""
    listed = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( {side} = :{port} )"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return listed.stdout.splitlines()


def unread_requests(port: int) -> int:
    """How many connections to the server on ``port`` hold bytes it has not read yet
    (a frozen server with a request in flight)."""
    return sum(1 for line in _established("sport", port) if int(line.split()[0]) > 0)


def clients_of(port: int) -> set[int]:
    """The ids of the processes holding a connection to the server on ``port``."""
    return {int(pid) for line in _established("dport", port) for pid in re.findall(r"pid=(\d+)", line)}


class RedisServer:
    """A private redis-server on a free loopback port, without persistence, that a test
    may stop (killed: connections refused), start again (empty) or freeze (SIGSTOP:
    connections open, no answer). Never the shared one."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.popen: subprocess.Popen | None = None
        self.start()

    def start(self, *, timeout: float = 10) -> None:
        log = (self.workdir / "redis.log").open("ab")
        self.popen = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        client = redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                return
            except redis.RedisError:
                if self.popen.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on {self.port}") from None
                time.sleep(0.05)
            finally:
                client.close()

    def kill(self) -> None:
        self.popen.kill()
        self.popen.wait(timeout=10)

    def freeze(self) -> None:
        os.kill(self.popen.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.popen.pid, signal.SIGCONT)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def close(self) -> None:
        if self.popen.poll() is None:
            self.thaw()
            self.kill()


def start_web(
    env: dict[str, str],
    *,
    log_path: Path,
    timeout: float = 30,
    port: int | None = None,
    root: Path = ROOT,
    bin_dir: Path | None = None,
) -> Process:
    """The Procfile's ``web`` line bound to 127.0.0.1 on ``port`` (a free one by
    default), once it answers; its address in ``base_url``, its port in ``port``. The
    caller stops it. ``root`` and ``bin_dir``: another release's checkout and scripts.
    The shell execs gunicorn, so the process's pid is gunicorn's master."""
    port = port or free_port()
    command = "exec " + procfile_command("web", root=root).replace("0.0.0.0", "127.0.0.1")  # noqa: S104 - replacing
    process = Process(command, env={**env, "PORT": str(port)}, log_path=log_path, cwd=root, bin_dir=bin_dir)
    process.base_url = f"http://127.0.0.1:{port}"
    process.port = port
    try:
        process.wait_http(f"{process.base_url}/health/live", timeout=timeout)
    except BaseException:
        process.stop()
        raise
    return process
