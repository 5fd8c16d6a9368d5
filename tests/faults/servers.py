"""A PostgreSQL cluster of our own, on a free loopback port, that a test may stop,
freeze (SIGSTOP: connections stay open, the kernel still acknowledges every packet,
nothing answers) and resume (tests/processes.py has the redis-server)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

import psycopg

from tests.processes import free_port

PG_VERSION = max((p.name for p in Path("/usr/lib/postgresql").iterdir()), key=int, default="15")
# Throwaway data: no durability, quick to start.
PG_CONF = "listen_addresses = '127.0.0.1'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in found.stdout.split()]


class PostgresCluster:
    """A Debian PostgreSQL cluster of its own (``pg_createcluster``, which runs the server
    as the postgres user), trust authentication on 127.0.0.1 only."""

    def __init__(self) -> None:
        self.name = f"ff_faults_{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        self._frozen: list[int] = []
        subprocess.run(
            ["pg_createcluster", "-p", str(self.port), PG_VERSION, self.name, "--", "--auth-host=trust"],
            check=True,
            capture_output=True,
        )
        self._conf_dir = Path(f"/etc/postgresql/{PG_VERSION}/{self.name}")
        (self._conf_dir / "conf.d" / "faults.conf").write_text(PG_CONF)
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def start(self) -> None:
        subprocess.run(["pg_ctlcluster", PG_VERSION, self.name, "start"], check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run(["pg_ctlcluster", PG_VERSION, self.name, "stop", "-m", "fast"], check=True, capture_output=True)

    def _pids(self) -> list[int]:
        pid_file = Path(f"/var/lib/postgresql/{PG_VERSION}/{self.name}/postmaster.pid")
        postmaster = int(pid_file.read_text().split()[0])
        return [postmaster, *_children(postmaster)]

    def freeze(self) -> None:
        """SIGSTOP the postmaster and every backend: open connections hang, new ones too."""
        self._frozen = self._pids()
        _signal_all(self._frozen, signal.SIGSTOP)

    def thaw(self) -> None:
        _signal_all(self._frozen, signal.SIGCONT)
        self._frozen = []

    def drop(self) -> None:
        self.thaw()
        subprocess.run(["pg_dropcluster", "--stop", PG_VERSION, self.name], check=False, capture_output=True)
        shutil.rmtree(self._conf_dir, ignore_errors=True)  # our conf.d file keeps it from going
