"""The bare order write, served the way a checkout is: the bench's fair reference.

The web process runs the Procfile's web line with this module in place of
``config.asgi`` (bench/run.py swaps the app path and nothing else): the same
gunicorn ASGI worker, the same kernel entry (``foodiefast.asgi.entry``: stream routes,
edge handlers, then a2wsgi's pool of ``WEB_THREADS`` threads; bench/bare.py) and the
same number of workers. What the entry hands to the thread pool is not Django but the least any
order endpoint must do: read the HTTP body, parse its JSON, run one transaction on
the thread's own persistent connection (the conditional stock ``UPDATE`` plus the
``INSERT`` of an order row, the two statements and their commit in one round trip
each, as a checkout's own would be), and answer ``201`` with a JSON body. No
routing, authentication, validation framework, idempotency, pricing or outbox:
those are the checkout's own cost, which the ratio measures.

    POST /  {"dish_id": "...", "customer_id": "...", "quantity": 2}
    201     {"id": "...", "dish_id": "...", "quantity": 2, "total_cents": 2944}
    409     {"code": "sold_out"}
"""

from __future__ import annotations

import json
import os
import threading
import uuid

from bench.bare import json_bytes, served
from foodiefast.asgi import settle_the_heap

BARE_TABLE = "bench_bare_order"
UNIT_PRICE_CENTS = 1250
_local = threading.local()


def _connection():
    """The thread's own connection, opened once (as Django's persistent ones are)."""
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        import psycopg

        conn = _local.conn = psycopg.connect(os.environ["DATABASE_URL"])
    return conn


def _answer(start_response, status: str, body: dict) -> list[bytes]:
    payload = json_bytes(body)
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def bare_order_write(environ, start_response):
    if environ["REQUEST_METHOD"] != "POST":
        return _answer(start_response, "405 Method Not Allowed", {"code": "method_not_allowed"})
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length))
    quantity = int(body["quantity"])
    order_id = uuid.uuid4()
    total_cents = UNIT_PRICE_CENTS * quantity
    conn = _connection()
    with conn.transaction():
        taken = conn.execute(
            "UPDATE menus_dish SET portions_left = portions_left - %s WHERE id = %s AND portions_left >= %s",
            (quantity, body["dish_id"], quantity),
        ).rowcount
        if taken != 1:
            return _answer(start_response, "409 Conflict", {"code": "sold_out"})
        conn.execute(
            f"INSERT INTO {BARE_TABLE} VALUES (%s, %s, %s, %s, %s, now())",  # noqa: S608 - the bench's own table
            (order_id, body["customer_id"], body["dish_id"], quantity, total_cents),
        )
    return _answer(
        start_response,
        "201 Created",
        {"id": str(order_id), "dish_id": body["dish_id"], "quantity": quantity, "total_cents": total_cents},
    )


application = served(bare_order_write)

settle_the_heap()
