"""Canary: a stable share of users sent to the new release, promoted step by step
while its figures hold, rolled back by itself when they do not.

The old release serves behind HAProxy (backend ``stable``), the new one's web
processes are added behind ``canary`` (as many as keep each of them no busier than
a stable one, :func:`canary_processes`). HAProxy sends a user to the canary when a hash
of their JWT's ``user_id`` claim, from 0 to 99, is below the canary's weight
(:data:`FRONTEND_RULES`; a request without a user draws its number per request);
the weight is an entry of the balancer's routes map, changed through the runtime API
without a reload. At each step (:data:`STEPS`) the rollout reads both releases'
``/metrics`` directly until the canary has served at least 500 requests since the
step began, and compares its 5xx share and p99 with the stable release's over that
same window (deploy/demo/analysis.py):

- worse (errors above 1 %, or p99 above twice stable's): weight 0 at once, the
  canary's web processes drained and stopped, the run exits non-zero saying why;
- not worse: the next step; after the last one, 100 %, then the old release's web
  processes drained and stopped;
- failing, but no more than stable (an outage they share): a new window is watched;
- no verdict in ``step_timeout`` seconds: rolled back too.

``--broken`` deploys a deliberately broken build of the new ref instead, made here
(:func:`broken_build`): a temporary git worktree of that commit, a small patch
committed there on no branch, the worktree removed; the commit is what the canary
runs, and nothing of it reaches a branch. ``errors``: one API request in ten answers
500; ``slow``: one in twenty waits a second first.
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from deploy.demo import analysis
from deploy.demo.releases import git

STEPS = (5, 25, 50)
STABLE_WEB_PROCESSES = 2
STEP_TIMEOUT_SECONDS = 240.0
# Traffic kept on the final state (all on the canary, or all back on stable) before
# the report.
SETTLE_SECONDS = 5.0

# The frontend's lines before the routes map's choice of backend. A signed-in user's
# number is a hash of the JWT's user_id claim: the same user, the same number,
# whatever token they hold, so a user stays on one release at a given weight and a
# user on the canary stays there as the weight grows. The claim is read, not
# verified: the app checks the signature, whichever release answers, so a forged
# claim only picks a release. A request without a user (browse, a shared live link)
# draws its number per request: anonymous reads carry no session to keep on one
# release, and drawing them gives the canary its share of the browse paths, so a
# fault there shows in its figures before it reaches everyone.
FRONTEND_RULES = """
http-request set-var(txn.canary_weight) str(canary),map(${routes_map},0)
http-request set-var(txn.user_bucket) http_auth_bearer,jwt_payload_query('$.user_id'),xxh32,mod(100) if { http_auth_bearer -m found }
http-request set-var(txn.user_bucket) rand(100) unless { var(txn.user_bucket) -m found }
use_backend canary if { var(txn.user_bucket),sub(txn.canary_weight) lt 0 }
"""  # noqa: E501

# Health checks more patient than the demos' defaults (an answer within 500 ms, out
# after 2 failures): an answer may take 2 s, and a server leaves rotation after 5 s
# of failed checks. The canary's processes are drained explicitly, never found out
# by their checks; a slow answer on a loaded machine, or a few seconds of readiness
# failing everywhere at once (the database refusing new connections), must not take
# every server of both releases out, which would fail everyone's requests and leave
# the canary nothing to be compared with.
BACKEND_RULES = """
timeout check 2s
default-server inter 1s fastinter 1s downinter 1s rise 2 fall 5
"""

DEMO_OPTIONS = {
    "backends": ("stable", "canary"),
    "balancer_options": {
        "frontend_rules": FRONTEND_RULES,
        "backend_rules": {"stable": BACKEND_RULES, "canary": BACKEND_RULES},
    },
}


# ---------------------------------------------------------------------------
# The weight
# ---------------------------------------------------------------------------


class CanaryWeight:
    """The canary's share of users, 0 to 100, in the balancer's routes map."""

    KEY = "canary"

    def __init__(self, balancer) -> None:
        self.balancer = balancer
        self.value = 0
        self.balancer.command(f"add map {balancer.routes_map} {self.KEY} 0")

    def set(self, percent: int) -> None:
        if not 0 <= percent <= 100:
            raise ValueError("a weight is a percentage")
        self.balancer._checked(f"set map {self.balancer.routes_map} {self.KEY} {percent}")
        self.value = percent

    def release_of(self, token: str | None) -> str:
        """The release the balancer sends a request with this token to (``/version``),
        "" when it could not tell (no answer, or not the app's)."""
        headers = {"X-Forwarded-Proto": "https", "Connection": "close"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = requests.get(f"{self.balancer.base_url}/version", headers=headers, timeout=5)
            return response.json()["version"] if response.status_code == 200 else ""
        except (requests.RequestException, ValueError, KeyError):
            return ""


# ---------------------------------------------------------------------------
# The deliberately broken build
# ---------------------------------------------------------------------------

_BROKEN_MODULE = '''\
"""A deliberately broken build, made by the canary demo (deploy/demo/canary.py)."""

import asyncio
import random


async def fail_some(scope, receive, send) -> bool:
    """One API request in ten answers 500."""
    if not scope["path"].startswith("/api/") or random.random() >= 0.1:
        return False
    body = b'{"code": "server_error", "detail": "A broken build."}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return True


async def slow_some(scope, receive, send) -> bool:
    """One API request in twenty waits a second before it is served."""
    if scope["path"].startswith("/api/") and random.random() < 0.05:
        await asyncio.sleep(1.0)
    return False
'''

BROKEN_KINDS = {"errors": "fail_some", "slow": "slow_some"}


def broken_build(ref: str, kind: str = "errors") -> str:
    """A commit of ``ref`` with a fault (``errors`` or ``slow``) at the web entry, ahead
    of every other handler of API requests; its full hash. Made in a temporary
    worktree, committed on no branch; the worktree is removed."""
    handler = BROKEN_KINDS[kind]
    base = git("rev-parse", "--verify", f"{ref}^{{commit}}")
    with tempfile.TemporaryDirectory(prefix="foodiefast-broken-") as parent:
        tree = Path(parent) / "tree"
        git("worktree", "add", "--detach", str(tree), base)
        try:
            (tree / "foodiefast" / "broken_build.py").write_text(_BROKEN_MODULE)
            with (tree / "config" / "settings.py").open("a") as settings:
                settings.write(
                    textwrap.dedent(f"""
                        # A deliberately broken build: some API requests {kind}.
                        ASGI_EDGE_HANDLERS = ["foodiefast.broken_build.{handler}", *ASGI_EDGE_HANDLERS]
                    """)
                )
            git("add", "foodiefast/broken_build.py", "config/settings.py", cwd=tree)
            # Dated as its base: the same broken build of a commit is the same commit,
            # and its prepared release is used again.
            when = git("show", "--no-patch", "--format=%cI", base)
            subprocess.run(
                [
                    "git",
                    "commit",
                    "--quiet",
                    "--no-verify",
                    "-m",
                    f"A broken build of {base[:10]}: API requests {kind}",
                ],
                cwd=tree,
                check=True,
                capture_output=True,
                env={
                    **os.environ,
                    "GIT_AUTHOR_NAME": "Canary demo",
                    "GIT_AUTHOR_EMAIL": "canary-demo@foodiefast.invalid",
                    "GIT_COMMITTER_NAME": "Canary demo",
                    "GIT_COMMITTER_EMAIL": "canary-demo@foodiefast.invalid",
                    "GIT_AUTHOR_DATE": when,
                    "GIT_COMMITTER_DATE": when,
                },
            )
            return git("rev-parse", "HEAD", cwd=tree)
        finally:
            git("worktree", "remove", "--force", str(tree))


# ---------------------------------------------------------------------------
# The rollout
# ---------------------------------------------------------------------------


@dataclass
class Step:
    weight: int
    verdict: analysis.Verdict
    seconds: float
    # Which of the traffic's signed-in users the balancer sent to the canary (their
    # indexes), asked as the step began; how many were sent elsewhere when asked
    # again as it ended.
    canary_users: frozenset[int]
    users: int
    moved: int


@dataclass
class CanaryReport:
    """The traffic's report (report.py) with the rollout's steps and outcome."""

    report: object
    steps: list[Step] = field(default_factory=list)
    outcome: str = ""
    rolled_back: bool = False

    def render(self) -> str:
        lines = [self.report.render(), "", "canary analysis (each release's /metrics over the same window):"]
        for step in self.steps:
            lines.append(
                f"- {step.weight}% of users ({len(step.canary_users)} of the traffic's {step.users} signed-in users"
                f" on the canary, {step.moved} moved during the step), window of {step.seconds:.0f}s:"
                f" {step.verdict.action}"
            )
            lines += [f"    {line}" for line in str(step.verdict).splitlines()]
        lines += self.confinement()
        lines.append(f"outcome: {self.outcome}")
        return "\n".join(lines)

    def confinement(self) -> list[str]:
        """Where the traffic's failures happened: in each step, against the canary's
        share times its error rate; elsewhere; and the stable release's 5xx."""
        rows = {row.phase: row for row in self.report.rows}
        lines = ["failed requests seen by the traffic:"]
        for step in self.steps:
            row = rows.get(phase_of(step.weight))
            if row and row.requests:
                expected = step.weight / 100 * step.verdict.canary.error_rate
                lines.append(
                    f"- {row.phase}: {row.failures} of {row.requests} ({row.failures / row.requests:.1%}; the canary's"
                    f" share x its error rate: {expected:.1%})"
                )
        steps = {phase_of(step.weight) for step in self.steps}
        elsewhere = sum(row.failures for row in self.report.rows if row.phase not in steps and row.phase != "total")
        lines.append(f"- in every other phase: {elsewhere}")
        stable_errors = sum(step.verdict.stable.errors for step in self.steps)
        stable_requests = sum(step.verdict.stable.requests for step in self.steps)
        lines.append(f"- the stable release answered {stable_errors:.0f} 5xx of {stable_requests:.0f} in the windows")
        return lines

    def exit_code(self) -> int:
        return 1 if self.rolled_back else self.report.exit_code()

    def as_dict(self) -> dict:
        return {
            **self.report.as_dict(),
            "canary": {
                "outcome": self.outcome,
                "rolled_back": self.rolled_back,
                "steps": [
                    {
                        "weight": step.weight,
                        "users": step.users,
                        "canary_users": sorted(step.canary_users),
                        "users_moved": step.moved,
                        "action": step.verdict.action,
                        "reasons": list(step.verdict.reasons),
                        "canary": _window_dict(step.verdict.canary),
                        "stable": _window_dict(step.verdict.stable),
                    }
                    for step in self.steps
                ],
            },
        }


def _window_dict(window: analysis.Window) -> dict:
    p99 = window.quantile()
    return {
        "requests": window.requests,
        "errors": window.errors,
        "error_rate": window.error_rate,
        "p99_ms": None if math.isnan(p99) else p99 * 1000,
    }


def canary_processes(percent: int) -> int:
    """Web processes the canary runs at ``percent``: enough that none of them takes
    more requests than a stable one (its latency is compared with theirs), at most as
    many as stable runs."""
    if percent >= 100:
        return STABLE_WEB_PROCESSES
    return min(STABLE_WEB_PROCESSES, max(1, math.ceil(percent * STABLE_WEB_PROCESSES / (100 - percent))))


def phase_of(weight: int) -> str:
    return f"canary {weight}%"


def signed_in_tokens(data: dict) -> list[str]:
    """Every signed-in user of the traffic, one token each."""
    return [*data["checkout"]["tokens"], data["follow"]["token"], *data["couriers"]]


def run(
    demo,
    *,
    steps: tuple[int, ...] = STEPS,
    min_requests: int = analysis.MIN_REQUESTS,
    step_timeout: float = STEP_TIMEOUT_SECONDS,
) -> CanaryReport:
    stables = [demo.serve(demo.old, "stable") for _ in range(STABLE_WEB_PROCESSES)]
    demo.start_worker(demo.old)
    weight = CanaryWeight(demo.balancer)
    demo.start_traffic("stable only")
    demo.hold(demo.phase_seconds / 2)
    demo.phase("release phase (migrate)")
    demo.release_phase(demo.new)
    # Told apart on /version and /metrics even when both releases are one commit.
    canary_version = f"{demo.new.short}-canary"
    canaries = []

    def scale_canary(percent: int) -> None:
        missing = canary_processes(percent) - len(canaries)
        if missing > 0:
            canaries.extend(demo.serve_many(demo.new, "canary", missing, extra_env={"RELEASE_VERSION": canary_version}))

    token = demo.stage.env["METRICS_TOKEN"]
    tokens = signed_in_tokens(demo.data)
    result = CanaryReport(report=None)
    for percent in steps:
        scale_canary(percent)
        weight.set(percent)
        demo.phase(phase_of(percent))
        routed = [weight.release_of(t) for t in tokens]
        began = time.monotonic()
        verdict = analysis.analyse(
            [web.base_url for web in canaries],
            [web.base_url for web in stables],
            token,
            min_requests=min_requests,
            timeout=step_timeout,
            on_wait=lambda held, percent=percent: (
                held.action == analysis.HOLD and demo.log(f"canary at {percent}%: {held}")
            ),
        )
        seconds = time.monotonic() - began
        moved = sum(weight.release_of(t) != release for t, release in zip(tokens, routed, strict=True))
        on_canary = frozenset(n for n, release in enumerate(routed) if release == canary_version)
        result.steps.append(Step(percent, verdict, seconds, on_canary, len(tokens), moved))
        demo.log(f"canary at {percent}%: {verdict}")
        if verdict.action != analysis.PROMOTE:
            weight.set(0)
            demo.phase("rolled back")
            demo.log("rolled back: weight 0, the canary's web processes drain and stop")
            for web in canaries:
                demo.retire(web)
            demo.hold(SETTLE_SECONDS)
            result.report = demo.finish(must_be_clean=False)
            result.rolled_back = True
            why = "; ".join(verdict.reasons)
            if verdict.action in (analysis.WAIT, analysis.HOLD):
                why = f"no verdict in {step_timeout:.0f}s ({why})"
            result.outcome = f"ROLLED BACK at {percent}%: {why}"
            return result
    scale_canary(100)
    weight.set(100)
    demo.phase("canary 100%")
    demo.hold(SETTLE_SECONDS)
    demo.phase("old release retired")
    for web in stables:
        demo.retire(web)
    demo.hold(SETTLE_SECONDS)
    result.report = demo.finish()
    result.outcome = f"PROMOTED to 100% after {len(steps)} steps ({', '.join(f'{p}%' for p in steps)})"
    return result


# ---------------------------------------------------------------------------
# Options of `python -m deploy.demo canary`
# ---------------------------------------------------------------------------


def add_arguments(parser) -> None:
    group = parser.add_argument_group("canary")
    group.add_argument(
        "--broken",
        nargs="?",
        const="errors",
        choices=sorted(BROKEN_KINDS),
        help="deploy a deliberately broken build of --new (errors: 10%% of API requests fail; slow: 5%% wait 1 s)",
    )
    group.add_argument(
        "--steps",
        default=",".join(map(str, STEPS)),
        help="the canary's shares of users before 100%%, in percent (default %(default)s)",
    )
    group.add_argument(
        "--step-timeout",
        type=float,
        default=STEP_TIMEOUT_SECONDS,
        help="seconds a step may wait for its requests before it counts as failed (default %(default)s)",
    )


def from_arguments(args, new: str) -> tuple[str, dict]:
    """The ref the canary runs (a broken build of ``new`` with ``--broken``) and run()'s options."""
    steps = tuple(int(step) for step in args.steps.split(","))
    if not steps or any(not 0 < step < 100 for step in steps) or list(steps) != sorted(set(steps)):
        raise SystemExit("--steps: increasing percentages between 1 and 99")
    if args.broken:
        new = broken_build(new, args.broken)
        print(f"broken build ({args.broken}) of {args.new}: {new[:10]}, on no branch", flush=True)
    return new, {"steps": steps, "step_timeout": args.step_timeout}
