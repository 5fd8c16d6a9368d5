"""``make bench``: start the web process as the Procfile does (PostgreSQL, Redis, debug
off), drive each scenario with wrk from a second process at several connection counts,
print req/s, p50, p99, errors, the CPU per request (the web process, the shared
redis-server, wrk) and the ratio to ``/health/live`` of the same run (and to a
scenario's own references, e.g. checkout against the bare order write, a courier's
ping against the bare ping), and plot latency against load. Scenarios that need another
configuration (checkout against localstripe) or another app (the bare order write,
``bench/bare_app.py``; the bare ping, ``bench/bare_ping.py``) get a web
process of their own, started from the same Procfile line; localstripe is started on
loopback when one asks for it (see bench/scenarios.py). ``--only`` runs a scenario's
references with it.

    python -m bench.run [--duration 10] [--connections 8,32,64] [--only me,health_live]

Then the tracking streams (bench/streams.py): ``idle_streams`` (cached browse with and
without 5,000 idle streams open, memory per stream) and ``stream_fanout`` (one
publish to 1,000 streams over two web processes, delivery latency); ``--only`` names
them too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.processes import free_port, procfile_command

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCH_DB = "ff_bench"
BENCH_REDIS_DB = 1

BENCH_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "bench-secret-key-long-enough-for-hmac-sha256-signing-0123456789abcdef",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}",
    # db 0 is `make run`'s and 2-15 are the test runs' (tests/testenv.py): the bench
    # flushes db 1 only.
    "REDIS_URL": f"redis://127.0.0.1:6379/{BENCH_REDIS_DB}",
    # Our own cost, without a payment provider's round trip.
    "PAYMENTS_DEMO": "1",
    "STRIPE_WEBHOOK_SECRET": "whsec_bench",
    "DJANGO_LOG_LEVEL": "INFO",
    # The build's folder, git-ignored, in this checkout.
    "DJANGO_STATIC_ROOT": str(ROOT / "staticfiles"),
}


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing it from Debian's packages", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or sys.exit("wrk could not be installed")


def reset_database(name: str = BENCH_DB, *, redis_db: int | None = BENCH_REDIS_DB) -> None:
    """The database ``name`` dropped (whoever is connected) and created empty; the
    shared Redis server's db ``redis_db`` flushed (None: none)."""
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    if redis_db is not None:
        subprocess.run(["redis-cli", "-n", str(redis_db), "flushdb"], check=True, capture_output=True)


def run_shell(command: str, env: dict[str, str]) -> None:
    subprocess.run(command, shell=True, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S602


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(output: str) -> dict[str, float]:
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.M))

    def ms(text: str) -> float:
        number, unit = re.match(r"([\d.]+)(\w+)", text).groups()
        return _ms(number, unit)

    requests_total = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": ms(latency["50"]),
        "p95_ms": int(re.search(r"^p95_us (\d+)", output, re.M).group(1)) / 1000,
        "p99_ms": ms(latency["99"]),
        "requests": requests_total,
        "errors": errors,
    }


def wrk_script(scenario) -> Path:
    """A Lua script for wrk: the scenario's own, or one setting method, body and headers."""
    lines = [f'wrk.method = "{scenario.method}"']
    for name, value in scenario.resolved_headers().items():
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    if scenario.body is not None:
        lines.append(f"wrk.body = {json.dumps(scenario.body)}")
    if scenario.lua:
        lines.append(scenario.lua(scenario.context))
    # wrk's --latency table stops at 50/75/90/99: print p95 too.
    lines.append(
        'function done(summary, latency, requests) io.write(string.format("p95_us %d\\n", latency:percentile(95))) end'
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write("\n".join(lines) + "\n")
    return Path(handle.name)


def drive(
    wrk: str, base: str, scenario, connections: int, duration: int, *, web_pid: int | None = None
) -> dict[str, float]:
    """One wrk run; its figures, with the CPU each request cost the web process (the
    process ``web_pid`` and its workers), the shared Redis and wrk (µs, from /proc and
    wrk's rusage)."""
    from bench import profile

    script = wrk_script(scenario)
    command = [
        wrk,
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        base + scenario.resolved_path(),
    ]
    groups = {"web": profile.process_tree(web_pid) if web_pid is not None else [], "redis": profile.redis_server()}
    before, children = profile.cpu_of(groups), resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    after, children_after = profile.cpu_of(groups), resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = parse_wrk(output)
    wrk_seconds = (children_after.ru_utime + children_after.ru_stime) - (children.ru_utime + children.ru_stime)
    if figures["requests"]:
        per_request = 1e6 / figures["requests"]
        figures["cpu_us"] = {
            "web": (after["web"] - before["web"]) * per_request if web_pid is not None else None,
            "redis": (after["redis"] - before["redis"]) * per_request,
            "wrk": wrk_seconds * per_request,
        }
    return figures


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_p50, ax_p99) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name in dict.fromkeys(f"{r['server']}: {r['scenario']}" for r in results):
        rows = [r for r in results if f"{r['server']}: {r['scenario']}" == name]
        conns = [r["connections"] for r in rows]
        ax_p50.plot(conns, [r["p50_ms"] for r in rows], marker="o", label=name)
        ax_p99.plot(conns, [r["p99_ms"] for r in rows], marker="o", label=name)
    for ax, title in ((ax_p50, "p50 latency"), (ax_p99, "p99 latency")):
        ax.set_title(title)
        ax.set_xlabel("concurrent connections")
        ax.set_ylabel("ms")
        ax.grid(alpha=0.3)
    ax_p99.legend(fontsize=8)
    fig.suptitle("FoodieFast web process: latency against load (same run)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def prepare(env: dict[str, str], only: str) -> list:
    """A fresh bench database migrated by the release command, static files, scenario data."""
    reset_database()
    run_shell(procfile_command("release"), env)
    run_shell("python manage.py collectstatic --noinput", env)

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.db import connections

    from bench.scenarios import SCENARIOS

    wanted = set(filter(None, only.split(",")))
    # A scenario's references run with it.
    wanted |= {name for s in SCENARIOS if s.name in wanted for name in s.reference}
    scenarios = [s for i, s in enumerate(SCENARIOS) if i == 0 or not wanted or s.name in wanted]
    for scenario in scenarios:
        if scenario.setup:
            print(f"setting up {scenario.name} ...", flush=True)
            scenario.context = scenario.setup()
    connections.close_all()
    return scenarios


# The web process as deployed, and the servers it is compared with (docs/architecture.md):
# gunicorn sync and granian WSGI as REST ceilings, granian ASGI as the alternative.
SERVERS = {
    "procfile": None,
    "gunicorn-sync": "gunicorn config.wsgi:application -k sync -w 4 --bind 127.0.0.1:$PORT --no-control-socket",
    "granian-wsgi": "granian --interface wsgi --workers 2 --blocking-threads 4 --host 127.0.0.1 --port $PORT "
    "config.wsgi:application",
    "granian-asgi": "granian --interface asgi --workers 2 --backpressure 10000 --host 127.0.0.1 --port $PORT "
    "config.asgi:application",
}


PROCFILE_APP = "config.asgi:application"


def start_web(
    env: dict[str, str], server: str, *, label: str = "", app: str | None = None
) -> tuple[subprocess.Popen, str, str]:
    """The web server on loopback; returns (process, base URL, command). ``app``: another
    ASGI app served by the Procfile's web line, everything else unchanged."""
    import requests

    port = free_port()
    command = SERVERS[server] or procfile_command("web").replace("0.0.0.0", "127.0.0.1")  # noqa: S104
    if app:
        if server != "procfile" or PROCFILE_APP not in command:
            sys.exit(f"{app} is served by the Procfile's web line only")
        command = command.replace(PROCFILE_APP, app)
    log = (RESULTS / f"web-{re.sub(r'[^A-Za-z0-9]+', '-', label or server)}.log").open("wb")
    web = subprocess.Popen(  # noqa: S602
        command,
        shell=True,
        cwd=ROOT,
        env={**env, "PORT": str(port)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/health/live", timeout=5).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        sys.exit(f"{server} did not answer /health/live within 60 s; see {log.name}")
    return web, base, command


def start_localstripe() -> tuple[subprocess.Popen, str]:
    """localstripe on loopback, as the tests start it (tests/run_localstripe.py: state in
    memory only); its process and base URL."""
    import requests

    port = free_port()
    log = (RESULTS / "localstripe.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "run_localstripe.py"), str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.delete(f"{base}/_config/data", timeout=2).raise_for_status()
            return process, base
        except requests.RequestException:
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"localstripe did not start; see {log.name}")
            time.sleep(0.1)


def one_point(
    wrk: str, base: str, scenario, connections: int, duration: int, *, web_pid: int | None = None
) -> dict[str, float]:
    if scenario.driver is not None:
        return scenario.driver(scenario.context, connections, duration)
    return drive(wrk, base, scenario, connections, duration, web_pid=web_pid)


def profile_point(wrk: str, base: str, web_pid: int, scenario, *, connections: int, duration: int) -> str:
    """Two more wrk runs of the scenario: one measuring the CPU per request of the web
    workers, the PostgreSQL backends and Redis, one while py-spy samples a web worker;
    the CPU line and the table of where a request's wall time went."""
    from bench import profile

    groups = {
        "web": profile.process_tree(web_pid),
        "PostgreSQL": profile.database_backends(BENCH_DB),
        "Redis": profile.redis_server(),
    }
    figures, cpu = profile.cpu_per_request(groups, lambda: drive(wrk, base, scenario, connections, duration))
    cpu_line = profile.format_cpu(f"{scenario.name} at {connections} connections", figures, cpu)
    if not profile.STAGES[scenario.profile]:
        return cpu_line
    raw = RESULTS / f"profile-{scenario.name}-{connections}.txt"
    spy = profile.record(profile.worker_pid(web_pid), duration, raw)
    figures = drive(wrk, base, scenario, connections, duration + 2)
    spy.wait(timeout=duration + 60)
    total, counts = profile.breakdown(raw, profile.STAGES[scenario.profile])
    title = f"{scenario.name} at {connections} connections ({figures['rps']:.0f} req/s while sampled)"
    return cpu_line + "\n" + profile.format_breakdown(title, total, counts, figures["p50_ms"])


def measure(
    wrk: str,
    bases: dict[str, str],
    server: str,
    scenarios: list,
    *,
    counts: list[int],
    duration: int,
    repeat: int,
    web_pids: dict[str, int],
    profiled: bool = False,
) -> list[dict]:
    """Each point is the best of ``repeat`` wrk runs, each with fresh connections: the
    worker processes share one listening socket and whichever wakes first may accept
    most of a burst of connections, which leaves a core idle for that whole run
    (seen here as a bimodal /health/live: ~950 or ~2,500 req/s at the same load)."""
    results = []
    for scenario in scenarios:
        base = bases[scenario.name]
        one_point(wrk, base, scenario, 8, 2)  # warm-up: connections, caches, code paths
        for count in counts:
            web_pid = web_pids.get(scenario.name)
            runs = [one_point(wrk, base, scenario, count, duration, web_pid=web_pid) for _ in range(repeat)]
            row = max(runs, key=lambda r: r["rps"])
            row.update(
                server=server,
                scenario=scenario.name,
                connections=count,
                runs=[r["rps"] for r in runs],
                runs_p50_ms=[r["p50_ms"] for r in runs],
                runs_p99_ms=[r["p99_ms"] for r in runs],
            )
            results.append(row)
            print(format_row(row), flush=True)
        if profiled and scenario.profile:
            row["profile"] = profile_point(
                wrk, base, web_pids[scenario.name], scenario, connections=counts[-1], duration=duration
            )
            print(row["profile"], flush=True)
    # The baseline is /health/live on the same server at the same load, in this run.
    baseline = {r["connections"]: r["rps"] for r in results if r["scenario"] == scenarios[0].name}
    by_point = {(r["scenario"], r["connections"]): r for r in results}
    for row in results:
        row["ratio_to_baseline"] = row["rps"] / baseline[row["connections"]] if baseline[row["connections"]] else 0
    for scenario in scenarios:
        for count in counts:
            row = by_point[(scenario.name, count)]
            for name in scenario.reference:
                reference = by_point.get((name, count))
                if not reference or not reference["rps"]:
                    continue
                row.setdefault("references", []).append(
                    {
                        "reference": name,
                        "ratio": row["rps"] / reference["rps"],
                        # Each run's ratio to the reference's run of the same index: the spread.
                        "runs": [
                            mine / theirs for mine, theirs in zip(row["runs"], reference["runs"], strict=True) if theirs
                        ],
                    }
                )
    return results


def format_row(row: dict) -> str:
    ratio = f"{row['ratio_to_baseline']:>7.2f}x" if "ratio_to_baseline" in row else ""
    for compared in row.get("references", []):
        runs = ", ".join(f"{r:.2f}" for r in compared["runs"])
        ratio += f"  {compared['ratio']:.2f}x {compared['reference']} (runs {runs})"
    spread = "/".join(f"{r:.0f}" for r in row.get("runs", []))
    cpu = row.get("cpu_us")
    return (
        f"{row['server']:<14} {row['scenario']:<28} {row['connections']:>5} {row['rps']:>9.0f} "
        f"{row['p50_ms']:>8.2f} {row['p95_ms']:>8.2f} {row['p99_ms']:>8.2f} {row['errors']:>7} {ratio}"
        + (f"  [req/s runs {spread}]" if spread else "")
        + (f"  [CPU µs/req web {cpu['web'] or 0:.0f}, redis {cpu['redis']:.0f}, wrk {cpu['wrk']:.0f}]" if cpu else "")
    )


def report(results: list[dict], *, duration: int, repeat: int) -> None:
    header = (
        f"{'server':<14} {'scenario':<28} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7} {'vs live':>8}  vs reference"
    )
    print(f"\nFoodieFast bench (best of {repeat} x {duration}s per point; 'procfile' is the Procfile's web line)")
    print(header)
    print("-" * len(header))
    for row in results:
        print(format_stream_row(row))
    for row in results:
        if "profile" in row:
            print(f"\n{row['profile']}")
    (RESULTS / "results.json").write_text(json.dumps(results, indent=2))
    plot(results, RESULTS / "latency.png")
    print(f"\nplot: {RESULTS / 'latency.png'}  figures: {RESULTS / 'results.json'}")


def _web_of(scenario) -> str:
    """Which web process serves a scenario: its variables and app, as a key."""
    return json.dumps([scenario.web_env or {}, scenario.web_app], sort_keys=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "4")))
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "3")), help="best of N")
    parser.add_argument("--connections", default=os.environ.get("BENCH_CONNECTIONS", "8,32,64"))
    parser.add_argument("--only", default="", help="comma-separated scenario names (the baseline always runs)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also sample a web worker with py-spy during scenarios that name stages (bench/profile.py)",
    )
    parser.add_argument(
        "--servers", default=os.environ.get("BENCH_SERVERS", "procfile"), help=f"comma list of {', '.join(SERVERS)}"
    )
    args = parser.parse_args()

    from bench.streams import raise_open_files_limit

    raise_open_files_limit()
    wrk = ensure_wrk()
    env = {**os.environ, **BENCH_ENV, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    os.environ.update(BENCH_ENV)
    RESULTS.mkdir(parents=True, exist_ok=True)
    scenarios = prepare(env, args.only)
    counts = [int(c) for c in args.connections.split(",")]
    results = []
    context: dict[str, str] = {}
    helpers = []
    if any("{localstripe}" in (s.web_env or {}).values() for s in scenarios):
        localstripe, context["localstripe"] = start_localstripe()
        helpers.append(localstripe)
    try:
        for server in args.servers.split(","):
            webs = []
            try:
                bases, web_pids = {}, {}
                for web in dict.fromkeys(_web_of(s) for s in scenarios):
                    web_env, app = json.loads(web)
                    extra = {name: value.format(**context) for name, value in web_env.items()}
                    label = server + "".join(extra.values()) + (app or "")
                    process, base, command = start_web({**env, **extra}, server, label=label, app=app)
                    webs.append(process)
                    print(f"{server}: {command} {extra or ''}", flush=True)
                    for scenario in scenarios:
                        if _web_of(scenario) == web:
                            bases[scenario.name] = base
                            web_pids[scenario.name] = process.pid
                results += measure(
                    wrk,
                    bases,
                    server,
                    scenarios,
                    counts=counts,
                    duration=args.duration,
                    repeat=args.repeat,
                    web_pids=web_pids,
                    profiled=args.profile,
                )
            finally:
                for web in webs:
                    os.killpg(web.pid, 15)
                    web.wait(timeout=20)
        results += stream_benches(wrk, env, args)
    finally:
        for helper in helpers:
            os.killpg(helper.pid, 15)
            helper.wait(timeout=20)
    report(results, duration=args.duration, repeat=args.repeat)


STREAM_BENCHES = ("idle_streams", "stream_fanout")


def stream_benches(wrk: str, env: dict[str, str], args) -> list[dict]:
    """The tracking stream figures (bench/streams.py), when asked for (or nothing is)."""
    from bench import streams
    from bench.scenarios import SCENARIOS

    wanted = set(filter(None, args.only.split(","))) or set(STREAM_BENCHES)
    rows = []
    if "idle_streams" in wanted:
        browse = next(s for s in SCENARIOS if s.name == "dishes_cached")
        if browse.setup and not browse.context:
            browse.context = browse.setup()
        rows += streams.idle_streams(
            wrk=wrk, env=env, browse=browse, repeat=args.repeat, duration=args.duration, workdir=RESULTS
        )
        print(format_stream_row(rows[-2]), flush=True)
        print(format_stream_row(rows[-1]), flush=True)
    if "stream_fanout" in wanted:
        rows.append(streams.stream_fanout(env=env, workdir=RESULTS))
        print(format_stream_row(rows[-1]), flush=True)
    return rows


def format_stream_row(row: dict) -> str:
    line = format_row(row)
    if "memory_per_stream_kb" in row:
        line += (
            f"\n    {row['streams_open']} streams open in {row['streams_opened_in_s']:.1f} s"
            f" ({row['streams_failed_to_open']} failed, {row['streams_alive_at_end']} alive at the end);"
            f" web RSS {row['memory_before_kb'] / 1024:.0f} -> {row['memory_after_kb'] / 1024:.0f} MiB,"
            f" {row['memory_per_stream_kb']:.1f} KiB per idle stream"
        )
    if "publishes" in row:
        line += (
            f"\n    {row['publishes']} publishes x {row['streams_open']} streams:"
            f" {row['requests']} deliveries ({row['errors']} missing),"
            f" p50 {row['p50_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms"
        )
    return line


if __name__ == "__main__":
    main()
