"""Requests at the same instant, on real PostgreSQL transactions in threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

TIMEOUT = 60


def all_at_once(calls, *, timeout: float = TIMEOUT):
    """Run ``calls`` in threads released together (each with its own database
    connection, closed after); their answers as (status, JSON)."""
    barrier = threading.Barrier(len(calls), timeout=timeout)

    def run(call):
        try:
            barrier.wait()
            response = call()
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=timeout) for future in futures]
