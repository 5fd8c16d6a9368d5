"""gunicorn's settings file, read from the working directory by the Procfile's ``web``.

Only what the command line cannot say: each start of the server gets a fresh,
private directory for the Prometheus figures its workers write
(``PROMETHEUS_MULTIPROC_DIR``, set before any worker starts, so that every worker
writes there and whichever answers ``GET /metrics`` sums them all); a worker that
exits has its live gauges (open streams) dropped, its counters kept; the directory is
removed when the server stops. See foodiefast/metrics.py.
"""

import os
import shutil
import tempfile


def on_starting(server):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="foodiefast-metrics-")


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    directory = os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
