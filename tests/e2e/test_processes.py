"""The Procfile's processes start, serve and stop the way a platform expects."""

import re
import subprocess
import sys
import time

import requests

from tests.processes import ROOT, Process, free_port, procfile_command

HTTPS = {"X-Forwarded-Proto": "https"}


def test_web_serves_readiness_on_plain_http(web):
    response = requests.get(f"{web.base_url}/health/ready", timeout=5)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}


def test_web_redirects_plain_http_api_calls_to_https(web):
    response = requests.get(f"{web.base_url}/api/v1/me", allow_redirects=False, timeout=5)
    assert response.status_code == 301
    assert response.headers["Location"].startswith("https://")


def test_a_customer_signs_up_and_in_through_the_web_process(web):
    email = f"e2e-{time.time_ns()}@example.com"
    registered = requests.post(
        f"{web.base_url}/api/v1/auth/register",
        json={"email": email, "password": "a-long-unusual-phrase", "full_name": "Eve Tester"},
        headers=HTTPS,
        timeout=10,
    )
    assert registered.status_code == 201, registered.text

    tokens = requests.post(
        f"{web.base_url}/api/v1/auth/token",
        json={"email": email, "password": "a-long-unusual-phrase"},
        headers=HTTPS,
        timeout=10,
    ).json()
    me = requests.get(
        f"{web.base_url}/api/v1/me", headers={**HTTPS, "Authorization": f"Bearer {tokens['access']}"}, timeout=5
    )
    assert me.status_code == 200
    assert me.json()["email"] == email


def test_admin_and_docs_static_files_are_served(web):
    docs = requests.get(f"{web.base_url}/api/docs/", headers=HTTPS, timeout=5)
    assert docs.status_code == 200
    css = re.search(r'href="([^"]+\.css)"', docs.text).group(1)
    assert requests.get(f"{web.base_url}{css}", headers=HTTPS, timeout=5).status_code == 200


def test_each_log_line_is_json_with_the_request_id(web):
    requests.get(f"{web.base_url}/api/v1/me", headers={**HTTPS, "X-Request-ID": "e2e-log-check"}, timeout=5)
    deadline = time.monotonic() + 5
    while "e2e-log-check" not in web.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    [line] = [line for line in web.output().splitlines() if "e2e-log-check" in line]
    assert '"request_id": "e2e-log-check"' in line
    assert '"status": 401' in line


def test_createsuperuser_noinput_from_the_environment(released):
    email = f"root-{time.time_ns()}@example.com"
    result = subprocess.run(
        [sys.executable, "manage.py", "createsuperuser", "--noinput"],
        cwd=ROOT,
        env={**released, "DJANGO_SUPERUSER_EMAIL": email, "DJANGO_SUPERUSER_PASSWORD": "root-pass-phrase-42"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Superuser created successfully" in result.stdout


def test_web_and_worker_stop_within_fifteen_seconds_of_sigterm(released, tmp_path):
    port = free_port()
    # exec: the signal and the exit status are the server's own, not a wrapping shell's
    web = Process(
        "exec " + procfile_command("web").replace("0.0.0.0", "127.0.0.1"),  # noqa: S104
        env={**released, "PORT": str(port)},
        log_path=tmp_path / "web.log",
    )
    worker = Process("exec " + procfile_command("worker"), env=released, log_path=tmp_path / "worker.log")
    try:
        web.wait_http(f"http://127.0.0.1:{port}/health/live")
        deadline = time.monotonic() + 30
        while "ready" not in worker.output() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "ready" in worker.output(), worker.output()

        for process in (web, worker):
            started = time.monotonic()
            process.stop(timeout=15)
            assert time.monotonic() - started < 15
            assert process.popen.returncode == 0, process.output()  # a clean exit on SIGTERM
    finally:  # never leave a worker behind to take the next run's tasks
        web.stop()
        worker.stop()


def test_the_release_phase_is_idempotent(released, tmp_path):
    rerun = Process(procfile_command("release"), env=released, log_path=tmp_path / "release.log")
    assert rerun.popen.wait(timeout=120) == 0, rerun.output()
    assert "No migrations to apply" in rerun.output()
