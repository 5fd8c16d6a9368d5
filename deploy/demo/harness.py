"""One demo run: two releases, the balancer, traffic throughout, phases, the report.

Public API (what every strategy builds on)::

    with Demo("rolling", old="HEAD~1", new="HEAD", phase_seconds=20) as demo:
        demo.old, demo.new            # Releases (releases.py); old is migrated and has
                                      # seeded the traffic's data (the database copied from
                                      # a template when an earlier run did it for this
                                      # commit), new is built, not migrated
        demo.balancer                 # started (balancer.py), backends blue and green
        web = demo.serve(demo.old, "blue")   # a web process of a release, attached to a
                                      # backend, in rotation once HAProxy's check passes
        webs = demo.serve_many(demo.old, "blue", 2)  # the same, started together
        demo.start_traffic("2 old web")  # traffic.py through the balancer, its first phase
        demo.phase("2 new web up")    # a new phase (printed), then ...
        demo.hold()                   # ... traffic for phase_seconds
        demo.release_phase(demo.new)  # the new release's migrate, while old serves
        demo.retire(web)              # drain in HAProxy, SIGTERM, wait for exit, detach
        report = demo.finish()        # traffic stopped; the Report (report.py)

``demo.log(text)`` prints a timestamped line. Leaving the ``with`` block stops every
process the demo started and drops its database.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from deploy.demo.balancer import Balancer, Slot
from deploy.demo.releases import Release, Stage, WebProcess
from deploy.demo.report import Report
from deploy.demo.traffic import SEED_SCRIPT, Load, Traffic, seed_data


class Demo:
    def __init__(
        self,
        name: str,
        *,
        old: str = "HEAD~1",
        new: str = "HEAD",
        phase_seconds: float = 20,
        load: Load | None = None,
        backends: tuple[str, ...] = ("blue", "green"),
        balancer_options: dict | None = None,
        quiet: bool = False,
    ) -> None:
        self.name = name
        self.refs = (old, new)
        self.phase_seconds = phase_seconds
        self.load = load or Load()
        self.backends = backends
        self.balancer_options = balancer_options or {}
        self.quiet = quiet
        self.began = time.monotonic()
        self.slots: dict[WebProcess, Slot] = {}
        self.stage: Stage | None = None
        self.balancer: Balancer | None = None
        self.traffic: Traffic | None = None
        self.workers = []
        # (when, "backend/server", "old" or "new"): which release each slot served from when.
        self.attachments: list[tuple[float, str, str]] = []

    def log(self, text: str) -> None:
        if not self.quiet:
            print(f"[{time.monotonic() - self.began:6.1f}s] {text}", flush=True)

    # -- set-up and tear-down -----------------------------------------------------

    def __enter__(self) -> Demo:
        try:
            self.stage = Stage(self.name)
            self.log(f"stage: database {self.stage.database}, redis {self.stage.redis.url}")
            self.old = Release.prepare(self.refs[0], self.stage)
            self.new = Release.prepare(self.refs[1], self.stage)
            self.log(f"old release {self.old.short} ({self.refs[0]}), new release {self.new.short} ({self.refs[1]})")
            self.data = self.stage.prepared(
                f"{self.old.sha} {SEED_SCRIPT.read_bytes().hex()} {self.load.streams}", self.migrate_and_seed
            )
            self.log(f"database migrated and seeded by {self.old.short}")
            self.balancer = Balancer(self.stage.workdir / "haproxy", backends=self.backends, **self.balancer_options)
            self.balancer.start()
            self.log(f"haproxy on {self.balancer.base_url}")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.traffic:
            self.traffic.stop(settle=0)
        if self.balancer:
            self.balancer.stop()
        if self.stage:
            self.stage.close()

    # -- steps --------------------------------------------------------------------------

    def migrate_and_seed(self) -> dict:
        """The old release's database: its release phase, then the traffic's data."""
        self.release_phase(self.old)
        began = time.monotonic()
        data = seed_data(self.old, streams=self.load.streams)
        self.log(f"traffic's data seeded by {self.old.short} ({time.monotonic() - began:.1f}s)")
        return data

    def release_phase(self, release: Release) -> None:
        began = time.monotonic()
        release.migrate()
        self.log(f"release phase of {release.short}: migrate ({time.monotonic() - began:.1f}s)")

    def start_worker(self, release: Release):
        worker = release.start_worker()
        self.workers.append(worker)
        self.log(f"worker of {release.short} started")
        return worker

    def serve(
        self,
        release: Release,
        backend: str,
        *,
        state: str = "ready",
        weight: int | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> WebProcess:
        """A new web process of ``release`` behind ``backend``: started, checked by
        HAProxy (/health/ready) while out of rotation, then put in ``state``."""
        return self.serve_many(release, backend, 1, state=state, weight=weight, extra_env=extra_env)[0]

    def serve_many(
        self,
        release: Release,
        backend: str,
        count: int,
        *,
        state: str = "ready",
        weight: int | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> list[WebProcess]:
        """:meth:`serve` for ``count`` web processes started at the same time."""
        names = [self.stage.next_web_name() for _ in range(count)]
        with ThreadPoolExecutor(max_workers=count) as pool:
            webs = list(pool.map(lambda name: release.start_web(name=name, extra_env=extra_env), names))
        for web in webs:
            slot = self.balancer.attach(backend, web, state="drain", weight=weight)
            self.slots[web] = slot
            self.attachments.append((time.monotonic(), str(slot), self.label(release)))
        for web in webs:
            self.balancer.wait_up(self.slots[web])
        for web in webs:
            if state != "drain":
                self.balancer.set_state(self.slots[web], state)
            self.log(f"{web} up behind {self.slots[web]}, health check passing, {state}")
        return webs

    def label(self, release: Release) -> str:
        return "new" if release is self.new else "old"

    def attribute(self, records: list) -> None:
        """Each answered record's release, from the slot that answered and when."""
        for record in records:
            for when, slot, label in reversed(self.attachments):
                if slot == record.served_by and when <= record.started:
                    record.release = label
                    break

    def slot(self, web: WebProcess) -> Slot:
        return self.slots[web]

    def retire(self, web: WebProcess, *, drain: bool = True, timeout: float = 20) -> None:
        """Take ``web`` away: out of rotation in HAProxy first (``drain``: requests in
        flight finish there, no new ones), then SIGTERM, which ends its streams with a
        retry hint; wait for it to exit, free its slot."""
        slot = self.slots.pop(web)
        if drain:
            self.balancer.set_state(slot, "drain")
        began = time.monotonic()
        web.terminate()
        code = web.wait_exit(timeout)
        self.balancer.detach(slot)
        self.log(f"{web} drained and stopped (exit {code} after {time.monotonic() - began:.1f}s)")

    def start_traffic(self, phase: str = "start") -> Traffic:
        """Traffic through the balancer from now on, its requests counted in ``phase``."""
        self.traffic = Traffic(self.balancer.base_url, self.data, redis_url=self.stage.redis.url, load=self.load)
        self.traffic.phase(phase)
        self.traffic.start()
        self.log(f"traffic started; phase: {phase}")
        return self.traffic

    def phase(self, name: str) -> None:
        self.traffic.phase(name)
        self.log(f"phase: {name}")

    def hold(self, seconds: float | None = None) -> None:
        time.sleep(self.phase_seconds if seconds is None else seconds)

    def finish(self, *, must_be_clean: bool = True) -> Report:
        records = self.traffic.stop()
        self.attribute(records)
        report = Report.build(
            f"{self.name}: {self.old.short} ({self.refs[0]}) -> {self.new.short} ({self.refs[1]})",
            records,
            phases=self.traffic.phases,
            streams=self.traffic.streams_summary(),
            must_be_clean=must_be_clean,
        )
        self.traffic = None
        return report
