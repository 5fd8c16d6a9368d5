"""What a demo's traffic saw, per phase: requests, failures, p50 and p99.

Public API::

    report = Report.build("rolling", traffic.records, phases=traffic.phases,
                          streams=traffic.streams_summary(), must_be_clean=True)
    report.rows                 # a PhaseRow per phase, in the order they began, then "total"
                                # (row.share("new"): % of its answers from the new release)
    report.failed               # failed requests (plus events lost by the streams)
    print(report.render())      # the table, the streams' line, a few failures if any
    report.exit_code()          # 1 when must_be_clean and anything failed, else 0
    report.as_dict()            # the same figures as JSON-ready data

A failure is a :class:`~deploy.demo.traffic.Record` that is not ``ok``: a connection
error, a timeout, a 5xx or an unexpected status (see traffic.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from bench.streams import percentile

KINDS = ("browse", "checkout", "ping", "stream")


@dataclass
class PhaseRow:
    phase: str
    requests: int
    failures: int
    p50_ms: float
    p99_ms: float
    by_kind: dict[str, int] = field(default_factory=dict)
    # Answers by the release that gave them ("old", "new"; "" when unknown).
    by_release: dict[str, int] = field(default_factory=dict)

    def share(self, release: str) -> float:
        """The share (0-100) of this phase's answers given by ``release``."""
        answered = sum(self.by_release.values())
        return 100 * self.by_release.get(release, 0) / answered if answered else 0.0


@dataclass
class Report:
    title: str
    rows: list[PhaseRow]
    streams: dict
    failures: list[str]
    must_be_clean: bool = True

    @classmethod
    def build(
        cls, title: str, records: list, *, phases: list[str], streams: dict | None = None, must_be_clean: bool = True
    ) -> Report:
        order = list(phases) + [r.phase for r in records if r.phase not in phases]
        rows = [cls._row(name, [r for r in records if r.phase == name]) for name in dict.fromkeys(order)]
        rows.append(cls._row("total", records))
        failures = [f"{r.phase}: {r.kind} {r.error or r.status}" for r in records if not r.ok]
        return cls(title=title, rows=rows, streams=streams or {}, failures=failures, must_be_clean=must_be_clean)

    @staticmethod
    def _row(phase: str, records: list) -> PhaseRow:
        # Latency of answered requests; a stream's is the time to its first byte.
        latencies = [r.latency_ms for r in records if r.status]
        return PhaseRow(
            phase=phase,
            requests=len(records),
            failures=sum(1 for r in records if not r.ok),
            p50_ms=percentile(latencies, 50),
            p99_ms=percentile(latencies, 99),
            by_kind=dict(Counter(r.kind for r in records)),
            by_release=dict(Counter(r.release for r in records if r.status)),
        )

    @property
    def failed(self) -> int:
        return self.rows[-1].failures + int(self.streams.get("events_lost", 0))

    def exit_code(self) -> int:
        return 1 if self.must_be_clean and self.failed else 0

    def render(self) -> str:
        width = max(28, *(len(row.phase) for row in self.rows))
        header = f"{'phase':<{width}} {'requests':>8} {'failed':>6} {'p50 ms':>8} {'p99 ms':>8} {'new %':>6}  "
        header += " ".join(f"{kind:>8}" for kind in KINDS)
        lines = [f"{self.title}", header, "-" * len(header)]
        for row in self.rows:
            if row.phase == "total":
                lines.append("-" * len(header))
            lines.append(
                f"{row.phase:<{width}} {row.requests:>8} {row.failures:>6} {row.p50_ms:>8.1f} {row.p99_ms:>8.1f}"
                f" {row.share('new'):>6.0f}  " + " ".join(f"{row.by_kind.get(kind, 0):>8}" for kind in KINDS)
            )
        if self.streams:
            s = self.streams
            lines.append(
                f"streams: {s['streams']} followed, {s['connections']} connections ({s['reconnections']} reconnections"
                f" with Last-Event-ID), {s['events_received']} events received, {s['events_lost']} lost,"
                f" {s['events_duplicated']} duplicated, {s['ended_without_retry']} ended without a retry hint"
            )
        verdict = "0 failed requests" if not self.failed else f"{self.failed} FAILED"
        lines.append(f"result: {verdict}")
        if self.failures:
            lines.append("first failures:")
            lines += [f"  {line}" for line in self.failures[:10]]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "rows": [asdict(row) for row in self.rows],
            "streams": self.streams,
            "failed": self.failed,
            "failures": self.failures[:50],
        }
