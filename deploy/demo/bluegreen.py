"""Blue-green: the whole of the new release (green) started and checked beside the old
one (blue), all traffic switched at once, blue kept warm for an instant switch back.

Blue (two web processes of the old release) serves. The new release's migrations run
while it does. Green (two web processes of the new release) starts in its own
HAProxy backend, each passing HAProxy's check of ``/health/ready``, and is
smoke-checked directly (ready, its own version, a browse request) while taking no
traffic. Then one runtime API command (a map entry) sends every new request to green;
another sends them back to blue (the rollback: nothing to start, nothing to
migrate), and a third forward again; finally blue drains and stops (its open streams
reconnect to green with ``Last-Event-ID``). Connections already open finish where
they are. Expected: 0 failed requests either way.
"""

from __future__ import annotations

import requests

from deploy.demo.harness import Demo
from deploy.demo.traffic import HTTPS

WEB_PROCESSES = 2


def smoke_check(demo: Demo, web) -> None:
    """Straight to the process, not through the balancer: ready, the expected release,
    a browse answer."""
    checks = {
        "/health/ready": lambda r: r.status_code == 200,
        "/version": lambda r: r.status_code == 200 and web.release.short in r.text,
        demo.data["browse"]: lambda r: r.status_code == 200 and r.json().get("results") is not None,
    }
    for path, passes in checks.items():
        answer = requests.get(web.base_url + path, headers=HTTPS, timeout=10)
        if not passes(answer):
            raise RuntimeError(f"smoke check of {web} failed on {path}: {answer.status_code} {answer.text[:200]}")
    demo.log(f"{web} smoke-checked: ready, version {web.release.short}, browse")


def run(demo: Demo):
    blue = demo.serve_many(demo.old, "blue", WEB_PROCESSES)
    demo.start_worker(demo.old)
    demo.start_traffic("blue live (old)")
    demo.hold()
    demo.phase("release phase (migrate)")
    demo.release_phase(demo.new)
    demo.phase("green started beside blue")
    for web in demo.serve_many(demo.new, "green", WEB_PROCESSES):
        smoke_check(demo, web)
    demo.start_worker(demo.new)
    for backend, phase in (("green", "green live (new)"), ("blue", "switched back to blue"), ("green", "green again")):
        # Switched first: every request of the new phase starts after the switch (one
        # begun just before it may still be routed after it, in the phase before).
        demo.balancer.route(backend)
        demo.phase(phase)
        demo.log(f"every new request to {backend} ({demo.balancer.live()} live)")
        demo.hold()
    demo.phase("blue retired")
    for web in blue:
        demo.retire(web)
    demo.hold(demo.phase_seconds / 2)
    return demo.finish()
