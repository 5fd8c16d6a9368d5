"""Rolling update: the web processes of the old release replaced one at a time.

Two web processes of the old release serve behind HAProxy. For each: a web process
of the new release starts, HAProxy's health check (``/health/ready``) passes while it
is still out of rotation, it is put in rotation; then an old one is set to drain (no
new requests), gets SIGTERM (its open tracking streams end with a ``retry:`` hint
and reconnect to another process with ``Last-Event-ID``, its requests in flight
finish) and exits. The new release's migrations run first, while the old release
serves. Expected: 0 failed requests.
"""

from __future__ import annotations

from deploy.demo.harness import Demo

WEB_PROCESSES = 2


def run(demo: Demo):
    olds = demo.serve_many(demo.old, "blue", WEB_PROCESSES)
    demo.start_worker(demo.old)
    demo.start_traffic(f"{WEB_PROCESSES} old web")
    demo.hold()
    demo.phase("release phase (migrate)")
    demo.release_phase(demo.new)
    demo.start_worker(demo.new)
    for n, old in enumerate(olds, start=1):
        demo.phase(f"replace {n}/{WEB_PROCESSES}")
        demo.serve(demo.new, "blue")
        demo.retire(old)
        demo.phase(f"{WEB_PROCESSES - n} old + {n} new web")
        demo.hold()
    return demo.finish()
