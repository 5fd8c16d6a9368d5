"""HAProxy as the deploy demos run it (deploy/haproxy/, deploy/demo/balancer.py): the
rendered configuration is one HAProxy accepts and says what the demos rely on, and
the runtime API moves traffic between servers without a reload. The servers here are
small HTTP servers that answer with what they received."""

from __future__ import annotations

import json
import subprocess
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from deploy.demo.balancer import Balancer, haproxy_binary, render_config


def rendered(tmp_path, **options) -> str:
    return render_config(
        port=18080,
        admin_socket=tmp_path / "admin.sock",
        routes_map=tmp_path / "routes.map",
        backends=("blue", "green"),
        slots=3,
        **options,
    )


def test_haproxy_accepts_the_rendered_configuration(tmp_path):
    (tmp_path / "routes.map").write_text("live blue\n")
    config = tmp_path / "haproxy.cfg"
    config.write_text(rendered(tmp_path, frontend_rules="http-request set-header X-Demo 1"))

    checked = subprocess.run([haproxy_binary(), "-c", "-f", str(config)], capture_output=True, text=True, check=False)

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_configuration_says_what_the_demos_rely_on(tmp_path):
    config = rendered(tmp_path, frontend_rules="use_backend green if { path_beg /canary }")
    lines = [line.strip() for line in config.splitlines()]

    # Loopback only; the app sees HTTPS; servers checked on readiness.
    assert "bind 127.0.0.1:18080" in lines
    assert "http-request set-header X-Forwarded-Proto https" in lines
    assert "http-check send meth GET uri /health/ready ver HTTP/1.1 hdr Host 127.0.0.1" in lines
    assert "http-check expect status 200" in lines
    # A refused connection goes to another server; streams are not cut for being quiet.
    assert {"retries 3", "option redispatch 1", "timeout tunnel 1h", "timeout server 60s"} <= set(lines)
    assert "retry-on conn-failure empty-response junk-response" in lines
    # An admin-level runtime API, and parked slots in each backend.
    assert f"stats socket {tmp_path / 'admin.sock'} mode 600 level admin" in lines
    assert sum(line.startswith("server s") and line.endswith("disabled") for line in lines) == 6
    # A strategy's own rules come before the switchable default route.
    assert lines.index("use_backend green if { path_beg /canary }") < lines.index(
        f"use_backend %[str(live),map({tmp_path / 'routes.map'},blue)]"
    )


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"server": self.server.name, "proto": self.headers.get("X-Forwarded-Proto")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def servers():
    started = {}
    for name in ("one", "two", "three"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
        server.name, server.port = name, server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started[name] = server
    yield started
    for server in started.values():
        server.shutdown()
        server.server_close()


@pytest.fixture
def balancer(tmp_path):
    balancer = Balancer(tmp_path / "lb").start()
    yield balancer
    balancer.stop()


def answers(balancer, count=12) -> Counter:
    return Counter(requests.get(f"{balancer.base_url}/x", timeout=5).json()["server"] for _ in range(count))


def test_servers_take_traffic_once_checked_and_leave_it_when_drained(balancer, servers):
    one = balancer.attach("blue", servers["one"])
    balancer.wait_up(one)
    # Checked and up, but still out of rotation: nobody to answer.
    assert requests.get(f"{balancer.base_url}/x", timeout=5).status_code == 503

    balancer.set_state(one, "ready")
    two = balancer.attach("blue", servers["two"])
    balancer.wait_up(two)
    balancer.set_state(two, "ready")
    assert answers(balancer) == {"one": 6, "two": 6}
    answer = requests.get(f"{balancer.base_url}/x", timeout=5)
    assert answer.json()["proto"] == "https"
    assert answer.headers["X-Served-By"] in ("blue/s1", "blue/s2")

    balancer.set_state(one, "drain")
    assert answers(balancer) == {"two": 12}
    balancer.detach(one)
    assert balancer.status(one) == "MAINT"
    # The freed slot takes the next process.
    assert balancer.attach("blue", servers["three"]) == one


def test_the_live_backend_switches_at_once_and_back(balancer, servers):
    for backend, server in (("blue", "one"), ("green", "two")):
        slot = balancer.attach(backend, servers[server])
        balancer.wait_up(slot)
        balancer.set_state(slot, "ready")
    assert answers(balancer) == {"one": 12}

    balancer.route("green")
    assert balancer.live() == "green"
    assert answers(balancer) == {"two": 12}

    balancer.route("blue")
    assert answers(balancer) == {"one": 12}
