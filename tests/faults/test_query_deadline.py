"""The web process's deadline on a database round trip, against a frozen server: the
wait ends on time, and what the cut transaction wrote is rolled back once the server
runs again, never committed later."""

import time

import psycopg
import pytest

from foodiefast.postgresql.base import DatabaseUnavailable, DeadlineConnection, breaker

pytestmark = pytest.mark.timeout(30)


def test_a_transaction_cut_by_the_deadline_is_rolled_back_when_the_server_resumes(postgres_cluster):
    url = postgres_cluster.url()
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("CREATE TABLE IF NOT EXISTS deadline_probe (n int)")
        admin.execute("TRUNCATE deadline_probe")
    conn = DeadlineConnection.connect(url)
    conn.deadline = 1.0
    backend = conn.info.backend_pid
    conn.execute("INSERT INTO deadline_probe VALUES (1)")  # a transaction is open
    postgres_cluster.freeze()
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            conn.execute("INSERT INTO deadline_probe VALUES (2)")
        took = time.monotonic() - started
    finally:
        postgres_cluster.thaw()
        breaker.reset()

    assert 1.0 <= took < 1.5
    assert conn.closed
    with psycopg.connect(url, autocommit=True) as admin:
        deadline = time.monotonic() + 10
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend]).fetchone():
            assert time.monotonic() < deadline, "the cut connection's backend did not end"
            time.sleep(0.05)
        assert admin.execute("SELECT count(*) FROM deadline_probe").fetchone() == (0,)
