"""Where a request's time goes: py-spy samples one web worker (wall clock, idle
threads included, without pausing it) while wrk drives a scenario, and each sample
taken inside a request is counted by its stage (the deepest stage frame on the
stack: pricing, the order transaction, the payment, reading back...) and by what
the thread was doing at that instant (waiting for PostgreSQL, for the payment
provider, for Redis, or running Python).

    python -m bench.run --only orders_checkout,orders_checkout_localstripe --profile
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

# Frames as py-spy names them: "function (path/to/file.py)", line numbers dropped.
REQUEST = "WSGIHandler.__call__ (django/core/handlers/wsgi.py)"

# A sample belongs to the deepest of these found on its stack.
STAGES: dict[str, list[tuple[str, str]]] = {
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
