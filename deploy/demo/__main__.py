"""``python -m deploy.demo <strategy> [--old REF] [--new REF] [--phase-seconds N]``

Runs a deploy strategy on this machine: two releases of this repository (two
commits, each its own processes) behind HAProxy, traffic throughout, and prints the
report (requests, failures, p50/p99 per phase). Exits non-zero when a strategy that
must drop nothing failed a request. ``all`` runs each strategy in turn. See
docs/deploy.md.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import signal
import sys

from deploy.demo.harness import Demo

# strategy -> module of deploy.demo with ``run(demo) -> Report``.
STRATEGIES = {
    "rolling": "rolling",
    "blue-green": "bluegreen",
    "restarts": "restarts",
    "canary": "canary",
}


def available() -> dict[str, str]:
    """The strategies whose module is present."""
    return {name: module for name, module in STRATEGIES.items() if importlib.util.find_spec(f"deploy.demo.{module}")}


def run_strategy(
    name: str,
    *,
    old: str,
    new: str,
    phase_seconds: float,
    quiet: bool = False,
    label: str | None = None,
    args=None,
):
    """Run strategy ``name``; its Report. ``label`` names the run's database and
    folder (the strategy's name by default). ``args``, the command line's, carries a
    strategy's own options (its add_arguments): its from_arguments may change the new
    ref and give run() arguments."""
    module = importlib.import_module(f"deploy.demo.{available()[name]}")
    options = getattr(module, "DEMO_OPTIONS", {})
    run_options = {}
    if args is not None and hasattr(module, "from_arguments"):
        new, run_options = module.from_arguments(args, new)
    with Demo(label or name, old=old, new=new, phase_seconds=phase_seconds, quiet=quiet, **options) as demo:
        return module.run(demo, **run_options)


def _stop(signum, frame):
    # SIGTERM ends the demo as Ctrl-C does: every process it started is stopped.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _stop)
    strategies = available()
    parser = argparse.ArgumentParser(prog="python -m deploy.demo", description=__doc__.split("\n\n")[1])
    parser.add_argument("strategy", choices=[*strategies, "all"])
    parser.add_argument("--old", default="HEAD~1", help="the release serving first (a git ref)")
    parser.add_argument("--new", default="HEAD", help="the release deployed (a git ref)")
    parser.add_argument("--phase-seconds", type=float, default=20, help="traffic held in each phase")
    parser.add_argument("--json", help="also write the reports' figures to this file")
    for module in strategies.values():
        getattr(importlib.import_module(f"deploy.demo.{module}"), "add_arguments", lambda _: None)(parser)
    args = parser.parse_args(argv)
    names = list(strategies) if args.strategy == "all" else [args.strategy]
    reports, code = [], 0
    for name in names:
        report = run_strategy(name, old=args.old, new=args.new, phase_seconds=args.phase_seconds, args=args)
        print("\n" + report.render() + "\n", flush=True)
        reports.append(report.as_dict())
        code = code or report.exit_code()
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(reports, handle, indent=2)
    return code


if __name__ == "__main__":
    sys.exit(main())
