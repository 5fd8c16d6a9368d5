"""Graceful restarts of ``web`` under load, one release (the old one).

Two web processes serve behind HAProxy.

SIGHUP to each one's gunicorn master in turn: the master keeps its listening socket,
starts fresh workers and stops the old ones gracefully (their streams end with a
``retry:`` hint, their requests finish). gunicorn stops the old workers as soon as it
has forked the new ones, and a new worker answers nothing while it imports the app
(seconds on a busy machine): requests sent meanwhile would wait in the socket's
backlog. So, as for a rolling update, the process is set to drain in HAProxy first
and back in rotation once its new workers answer ``/health/ready``.

SIGTERM to one master while it is still in rotation, as a platform stops a process:
it stops listening, ends its streams with a ``retry:`` hint, finishes its requests and
exits; HAProxy sends the requests it can no longer connect to to the other process
(``retries``, ``option redispatch``) and takes it out when its check fails. A fresh
process then starts in its place. Expected: 0 failed requests.
"""

from __future__ import annotations

import time

from deploy.demo.harness import Demo
from tests.processes import wait_for


def reload(demo: Demo, web) -> None:
    """Drained, SIGHUP, back in rotation once every worker is new and HAProxy's check
    passes."""
    slot = demo.slot(web)
    before = web.worker_pids()
    began = time.monotonic()
    demo.balancer.set_state(slot, "drain")
    web.reload()
    if not wait_for(lambda: web.worker_pids() and not (web.worker_pids() & before) and web.ready(), timeout=60):
        raise TimeoutError(f"{web} did not reload its workers")
    demo.balancer.wait_up(slot)
    demo.balancer.set_state(slot, "ready")
    after = sorted(web.worker_pids())
    demo.log(
        f"{web} reloaded: workers {sorted(before)} -> {after}, back in rotation in {time.monotonic() - began:.1f}s"
    )


def run(demo: Demo):
    first, second = demo.serve_many(demo.old, "blue", 2)
    demo.start_worker(demo.old)
    demo.start_traffic("2 web")
    demo.hold()
    for web in (first, second):
        demo.phase(f"SIGHUP {web.name}")
        reload(demo, web)
        demo.hold()
    demo.phase(f"SIGTERM {first.name} in rotation")
    slot = demo.slot(first)
    began = time.monotonic()
    first.terminate()
    code = first.wait_exit(20)
    demo.log(
        f"{first} exited {code} {time.monotonic() - began:.1f}s after SIGTERM; HAProxy: {demo.balancer.status(slot)}"
    )
    demo.hold()
    demo.balancer.detach(slot)
    demo.slots.pop(first)
    demo.phase("fresh web started")
    demo.serve(demo.old, "blue")
    demo.hold()
    return demo.finish()
