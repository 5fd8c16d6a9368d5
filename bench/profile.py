"""Where a request's time goes, two ways.

CPU: during one wrk run, the CPU time (user and system, from ``/proc``) that the web
process's workers, the bench database's PostgreSQL backends and redis-server spent,
per request; on a machine whose cores are all busy, CPU is what a request really
costs, and it moves much less than rates with the load of other users.

Wall clock: py-spy samples one web worker (idle threads included, without pausing
it) during one more run, and each sample taken inside a request is counted by its
stage (the deepest stage frame on the stack: pricing, the order transaction, the
payment, reading back...) and by what the thread was doing at that instant (waiting
for PostgreSQL, for the payment provider, for Redis, or running Python). Waits on a
CPU-starved machine include the other side's wait for a core.

    python -m bench.run --only orders_checkout,orders_checkout_localstripe --profile
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Frames as py-spy names them: "function (path/to/file.py)", line numbers dropped.
REQUEST = "WSGIHandler.__call__ (django/core/handlers/wsgi.py)"

# A sample belongs to the deepest of these found on its stack (none: CPU only).
STAGES: dict[str, list[tuple[str, str]]] = {
    "cpu": [],
    "checkout": [
        ("view: key, body, answer", "OrderListApi.post (apps/orders/api/views.py)"),
        ("order transaction: inserts, reserve, commit", "order_place (apps/orders/services/checkout.py)"),
        ("checks and pricing (reads)", "_price (apps/orders/services/checkout.py)"),
        ("payment: the intent recorded, the outbox", "_payment_for (apps/orders/services/checkout.py)"),
        ("reading the order back", "order_get_for_customer (apps/orders/selectors.py)"),
        ("rendering", "_render (apps/orders/api/views.py)"),
    ],
}
# What the thread was doing: the first of these found from the leaf up.
KINDS = [
    ("payment provider", re.compile(r"create_intent \(apps/payments/gateways/(?!demo)")),
    ("PostgreSQL", re.compile(r"\((psycopg|foodiefast/postgresql)/")),
    ("Redis", re.compile(r"\((redis|kombu|celery)/")),
]
OTHER_STAGE = "middleware, authentication, DRF"
PYTHON = "Python"


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return found if Path(found).exists() else None


def worker_pid(web_pid: int) -> int:
    """One worker of the web process (the shell's gunicorn's first child)."""

    def children(pid: int) -> list[int]:
        path = Path(f"/proc/{pid}/task/{pid}/children")
        return [int(c) for c in path.read_text().split()] if path.exists() else []

    pids = [web_pid]
    while pids:
        pid = pids.pop(0)
        kids = children(pid)
        if not kids and pid != web_pid:
            return pid
        pids = kids + pids
    raise LookupError(f"no worker under {web_pid}")


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            children = task / "children"
            if children.exists():
                pending += [int(child) for child in children.read_text().split()]
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes have used so far (those gone count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def database_backends(database: str) -> list[int]:
    """The PostgreSQL backends connected to ``database`` (the server is local)."""
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)).fetchall()
    return [pid for (pid,) in rows]


def redis_server(port: int = 6379) -> list[int]:
    """The shared redis-server (on ``port``; the tests' own servers are left out)."""
    found = subprocess.run(["pgrep", "-x", "redis-server"], check=False, capture_output=True, text=True).stdout.split()
    pids = []
    for pid in found:
        try:
            if f":{port}".encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(int(pid))
        except OSError:
            continue
    return pids


def cpu_of(groups: dict[str, list[int]]) -> dict[str, float]:
    """Each group's CPU seconds so far (:func:`cpu_seconds`)."""
    return {name: cpu_seconds(pids) for name, pids in groups.items()}


def machine_busy_seconds() -> float:
    """CPU time every process of the machine has used (``/proc/stat``: all but idle and iowait)."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS


def cpu_per_request(groups: dict[str, list[int]], drive) -> tuple[dict[str, float], dict[str, float]]:
    """Run ``drive()`` (a wrk run returning its figures) and return its figures and the
    CPU milliseconds each group of processes (and the whole machine, ``machine``)
    spent per request meanwhile."""
    before = cpu_of(groups)
    busy = machine_busy_seconds()
    figures = drive()
    busy = machine_busy_seconds() - busy
    after = cpu_of(groups)
    requests = max(1, int(figures["requests"]))
    cpu = {name: 1000 * (after[name] - before[name]) / requests for name in groups}
    return figures, {**cpu, "machine": 1000 * busy / requests}


def format_cpu(title: str, figures: dict[str, float], cpu: dict[str, float]) -> str:
    ours = {name: ms for name, ms in cpu.items() if name != "machine"}
    cells = ", ".join(f"{name} {ms:.2f} ms" for name, ms in ours.items())
    return (
        f"{title} ({figures['rps']:.0f} req/s): CPU per request: {cells}; together {sum(ours.values()):.2f} ms"
        f" (the whole machine, other users and wrk included: {cpu.get('machine', 0):.2f} ms)"
    )


def record(pid: int, seconds: int, output: Path) -> subprocess.Popen:
    """Start py-spy on ``pid`` for ``seconds``; the caller waits for it."""
    return subprocess.Popen(
        [
            py_spy() or "py-spy",
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "200",
            "--idle",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def breakdown(raw: Path, stages: list[tuple[str, str]]) -> tuple[int, Counter]:
    """(samples inside a request, samples by (stage, kind))."""
    total, counts = 0, Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        if REQUEST not in frames:
            continue
        n = int(count)
        total += n
        stage = OTHER_STAGE
        for frame in frames:
            for label, marker in stages:
                if frame == marker:
                    stage = label
        kind = next((name for name, pattern in KINDS for frame in reversed(frames) if pattern.search(frame)), PYTHON)
        counts[stage, kind] += n
    return total, counts


def format_breakdown(title: str, total: int, counts: Counter, p50_ms: float) -> str:
    """A table of shares of the request's wall time (and, at the run's p50, ms)."""
    if not total:
        return f"{title}: no samples inside a request"
    kinds = [name for name, _ in KINDS] + [PYTHON]
    stages = list(dict.fromkeys(stage for stage, _ in sorted(counts, key=lambda k: -counts[k])))
    lines = [
        f"{title}: where a request's time goes ({total} samples; % of wall time, ~ms at p50 {p50_ms:.1f})",
        f"  {'stage':<52}" + "".join(f"{k:>18}" for k in kinds) + f"{'all':>14}",
    ]
    for stage in stages:
        row = [counts[stage, kind] for kind in kinds]
        cells = "".join(f"{100 * n / total:>9.1f}% {p50_ms * n / total:>5.1f}ms " for n in row)
        share = sum(row) / total
        lines.append(f"  {stage:<52}{cells}{100 * share:>7.1f}% {p50_ms * share:>5.1f}ms")
    column = [sum(counts[stage, kind] for stage in stages) for kind in kinds]
    lines.append(f"  {'all':<52}" + "".join(f"{100 * n / total:>9.1f}% {p50_ms * n / total:>5.1f}ms " for n in column))
    return "\n".join(lines)
