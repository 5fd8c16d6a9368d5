"""HAProxy in front of the releases' web processes, driven through its runtime API.

Public API::

    balancer = Balancer(workdir, backends=("blue", "green"), slots=4)
    balancer.start()                     # haproxy -W -db on 127.0.0.1:<free port>
    balancer.base_url                    # "http://127.0.0.1:<port>", what traffic uses
    slot = balancer.attach("blue", web)  # a free slot of "blue" pointed at web.port,
                                         # health-checked, kept out of rotation (drain)
    balancer.wait_up(slot)               # until HAProxy's check of /health/ready passes
    balancer.set_state(slot, "ready")    # in rotation ("drain": no new requests,
                                         # "maint": out, checks stopped)
    balancer.set_weight(slot, 10)        # 0..256
    balancer.sessions(slot)              # connections open to it (requests, streams)
    balancer.wait_idle(slot)             # until it holds none (or a timeout)
    balancer.detach(slot)                # maint, and the slot is free again
    balancer.route("green")              # every new request to that backend, at once
    balancer.live()                      # the backend new requests go to
    balancer.command("show stat")        # any runtime API command, its answer
    balancer.stats()                     # ``show stat`` as a list of dicts
    balancer.stop()

A :class:`Slot` names a server line of a backend (``blue/s1``). The configuration
is rendered from deploy/haproxy/*.template (:func:`render_config`), with
``frontend_rules`` and ``backend_rules`` for a strategy's own lines (a canary's
hashing, for instance). HAProxy is Debian's package (``scripts/lb-up`` installs it).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from string import Template

from tests.processes import free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES = ROOT / "deploy" / "haproxy"
STATES = ("ready", "drain", "maint")
# What a slot points at while no process is attached (nothing listens on port 1).
PARKED = ("127.0.0.1", 1)


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise RuntimeError("haproxy is missing: run scripts/lb-up (Debian's haproxy package)")
    return found


@dataclass(frozen=True)
class Slot:
    backend: str
    server: str

    def __str__(self) -> str:
        return f"{self.backend}/{self.server}"


def render_config(
    *,
    port: int,
    admin_socket: Path,
    routes_map: Path,
    backends: tuple[str, ...],
    slots: int,
    balance: str = "roundrobin",
    frontend_rules: str = "",
    backend_rules: dict[str, str] | None = None,
) -> str:
    """haproxy.cfg for these backends, each with ``slots`` parked server lines; the first
    backend is the live one until :meth:`Balancer.route` says otherwise."""
    backend_template = Template((TEMPLATES / "backend.cfg.template").read_text())
    blocks = []
    for name in backends:
        servers = "\n".join(f"    server s{n} {PARKED[0]}:{PARKED[1]} disabled" for n in range(1, slots + 1))
        blocks.append(
            backend_template.substitute(
                name=name,
                balance=balance,
                backend_rules=_indented((backend_rules or {}).get(name, "")),
                servers=servers,
            )
        )
    return Template((TEMPLATES / "haproxy.cfg.template").read_text()).substitute(
        port=port,
        admin_socket=admin_socket,
        routes_map=routes_map,
        default_backend=backends[0],
        # A strategy's lines may name the routes map (${routes_map}).
        frontend_rules=_indented(Template(frontend_rules).safe_substitute(routes_map=routes_map)),
        backends="\n".join(blocks),
    )


def _indented(lines: str) -> str:
    return "\n".join(f"    {line.strip()}" for line in lines.strip().splitlines() if line.strip())


class Balancer:
    def __init__(
        self,
        workdir: Path,
        *,
        backends: tuple[str, ...] = ("blue", "green"),
        slots: int = 4,
        port: int | None = None,
        balance: str = "roundrobin",
        frontend_rules: str = "",
        backend_rules: dict[str, str] | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.backends = tuple(backends)
        self.slots = slots
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        # A unix socket's path is limited to 107 bytes: a short one elsewhere if need be.
        self.admin_socket = self.workdir / "admin.sock"
        if len(str(self.admin_socket)) > 100:
            self.admin_socket = Path(tempfile.mkdtemp(prefix="ff-lb-")) / "admin.sock"
        self.routes_map = self.workdir / "routes.map"
        self.config_path = self.workdir / "haproxy.cfg"
        self.balance = balance
        self.frontend_rules = frontend_rules
        self.backend_rules = backend_rules or {}
        self.attached: dict[Slot, object] = {}
        self.popen: subprocess.Popen | None = None

    # -- process ----------------------------------------------------------------

    def start(self, *, timeout: float = 15) -> Balancer:
        self.routes_map.write_text(f"live {self.backends[0]}\n")
        self.config_path.write_text(
            render_config(
                port=self.port,
                admin_socket=self.admin_socket,
                routes_map=self.routes_map,
                backends=self.backends,
                slots=self.slots,
                balance=self.balance,
                frontend_rules=self.frontend_rules,
                backend_rules=self.backend_rules,
            )
        )
        binary = haproxy_binary()
        check = subprocess.run(
            [binary, "-c", "-q", "-f", str(self.config_path)], capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused {self.config_path}:\n{check.stdout}{check.stderr}")
        log = (self.workdir / "haproxy.log").open("ab")
        self.popen = subprocess.Popen(
            [binary, "-W", "-db", "-f", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if not wait_for(self._answers, timeout=timeout):
            self.stop()
            raise RuntimeError(f"haproxy did not start; see {self.workdir / 'haproxy.log'}")
        return self

    def _answers(self) -> bool:
        if self.popen.poll() is not None:
            raise RuntimeError(f"haproxy exited; see {self.workdir / 'haproxy.log'}")
        try:
            self.command("show info")
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.popen and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()

    # -- runtime API --------------------------------------------------------------

    def command(self, text: str, *, timeout: float = 5) -> str:
        """One runtime API command (the admin socket); its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self.admin_socket))
            sock.sendall(text.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def _checked(self, text: str) -> str:
        answer = self.command(text)
        lowered = answer.lower()
        if any(word in lowered for word in ("unknown", "no such", "invalid", "require", "error", "not found")):
            raise RuntimeError(f"haproxy refused {text!r}: {answer.strip()}")
        return answer

    def stats(self) -> list[dict[str, str]]:
        """``show stat``: a row per frontend, backend and server."""
        text = self.command("show stat").lstrip("# ")
        return list(csv.DictReader(io.StringIO(text)))

    def server_stat(self, slot: Slot) -> dict[str, str]:
        for row in self.stats():
            if row["pxname"] == slot.backend and row["svname"] == slot.server:
                return row
        raise LookupError(str(slot))

    def status(self, slot: Slot) -> str:
        """HAProxy's status of the slot: UP, DOWN, DRAIN, MAINT, ... (with its check)."""
        return self.server_stat(slot)["status"]

    def sessions(self, slot: Slot) -> int:
        return int(self.server_stat(slot)["scur"] or 0)

    def free_slot(self, backend: str) -> Slot:
        for n in range(1, self.slots + 1):
            slot = Slot(backend, f"s{n}")
            if slot not in self.attached:
                return slot
        raise RuntimeError(f"no free slot left in {backend}")

    def attach(self, backend: str, web, *, state: str = "drain", weight: int | None = None) -> Slot:
        """Point a free slot of ``backend`` at ``web`` (anything with a ``port``), its
        health check on, and put it in ``state`` (``drain`` by default: checked, no
        traffic yet). The slot."""
        slot = self.free_slot(backend)
        self._checked(f"set server {slot} addr 127.0.0.1 port {web.port}")
        if weight is not None:
            self.set_weight(slot, weight)
        self._checked(f"enable health {slot}")
        self.set_state(slot, state)
        self.attached[slot] = web
        return slot

    def set_state(self, slot: Slot, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}")
        self._checked(f"set server {slot} state {state}")

    def set_weight(self, slot: Slot, weight: int) -> None:
        self._checked(f"set server {slot} weight {weight}")

    def wait_up(self, slot: Slot, *, timeout: float = 30) -> None:
        """Until HAProxy's own check (``/health/ready``) passes for the slot."""
        if not wait_for(lambda: self.check_passing(slot), timeout=timeout, interval=0.1):
            raise TimeoutError(f"{slot} did not pass its health check in {timeout}s: {self.server_stat(slot)}")

    def check_passing(self, slot: Slot) -> bool:
        row = self.server_stat(slot)
        # UP, or DRAIN (up, taking no new requests); "DOWN", "MAINT", "UP 1/2" (rising) are not.
        return row["status"] in ("UP", "DRAIN") and row["check_status"].startswith("L7OK")

    def wait_idle(self, slot: Slot, *, timeout: float = 15) -> bool:
        """Until no connection is open to the slot; whether that happened in time."""
        return bool(wait_for(lambda: self.sessions(slot) == 0, timeout=timeout, interval=0.1))

    def detach(self, slot: Slot) -> None:
        """Out of rotation (maint, checks off) and parked; the slot is free again."""
        self.set_state(slot, "maint")
        self._checked(f"disable health {slot}")
        self._checked(f"set server {slot} addr {PARKED[0]} port {PARKED[1]}")
        self.attached.pop(slot, None)

    def route(self, backend: str) -> None:
        """Every new request to ``backend``, at once (one map entry swapped)."""
        if backend not in self.backends:
            raise ValueError(f"unknown backend {backend}")
        self._checked(f"set map {self.routes_map} live {backend}")

    def live(self) -> str:
        for line in self.command(f"show map {self.routes_map}").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == "live":
                return parts[2]
        return self.backends[0]
