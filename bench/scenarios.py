"""The scenarios ``make bench`` measures.

A scenario is a request (or a wrk Lua script making one) plus an optional ``setup``
that runs in the bench process against the bench database before the web process
starts and returns what the request needs (a token, ids). The first scenario is the
baseline every other is compared with in the same run; a scenario may also name a
``reference`` scenario of the same run to be compared with.

Checkout (``orders_checkout``, ``orders_checkout_localstripe``): ``POST /api/v1/orders``
for 2 portions of one dish of one always-open kitchen, each request with a fresh
``Idempotency-Key`` and one of several seeded customers' tokens (in turn), the dish
stocked so that it never sells out. Every request is a whole checkout: validation,
idempotency, pricing, the order with its lines and timeline row, the reservation,
the payment row and its intent, the outbox. With the demo gateway it measures our own
cost; with localstripe (started on loopback by the bench, as the tests do) the same
plus a real HTTP round trip to a Stripe double per order.

Its reference, ``bare_order_write``, is the least any checkout must do, served the
way a checkout is and measured in the same run: a web process started from the
Procfile's web line with only the app swapped for ``bench.bare_app`` (the same gunicorn
ASGI worker and worker count, the same kernel entry with its edge handlers and
a2wsgi's pool of ``WEB_THREADS`` threads), driven by wrk at the same connection
counts with an HTTP POST of a JSON body; each request runs, on its thread's own
persistent psycopg connection, one transaction of a conditional stock UPDATE of one
dish (of the same table, the same hot row pattern: every order takes the same dish)
plus one INSERT of an order row, and answers 201 with a JSON body (see
bench/bare_app.py). What it leaves out (routing, authentication, DRF, validation,
idempotency, pricing, the payment, the outbox) is the checkout's own cost.

``bare_order_write_psycopg`` is the same transaction without any web stack: as many
threads as connections, each with its own psycopg connection, looping over it in the
bench process (see ``bare_order_write_psycopg``); the database's own ceiling, shown
as a second reference.

Courier pings (``courier_location``): 16 couriers each on a claimed delivery post
one point per request (see docs/tracking.md, "Speed"). Its reference, ``bare_ping``,
is the least any ping that writes to Redis must do, served the same way
(bench/bare_ping.py): the body's point, the token looked up in a dict, one Redis round
trip on the event loop (HSET + PUBLISH), 202.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

HTTPS = {"X-Forwarded-Proto": "https"}


@dataclass
class Scenario:
    name: str
    path: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    # Lua for wrk, made fresh before each measured point from the setup's context
    # (e.g. to vary the query, or to send requests signed moments ago).
    lua: Callable[[dict[str, Any]], str] | None = None
    setup: Callable[[], dict[str, Any]] | None = None
    # Measured by the bench itself instead of wrk: (context, connections, seconds) -> figures.
    driver: Callable[[dict[str, Any], int, int], dict[str, float]] | None = None
    # Served by a web process of its own, started with these variables added (and
    # ``{placeholders}`` from the context filled in).
    web_env: dict[str, str] | None = None
    # Served by a web process of its own running this ASGI app ("module:attribute")
    # instead of the Procfile's, with the Procfile's web line otherwise unchanged.
    web_app: str | None = None
    # Other scenarios of the same run this one is compared with (req/s ratio), the
    # first being the one that counts.
    reference: tuple[str, ...] = ()
    # With ``--profile``: its CPU per request, and the stages (bench/profile.py) a sampled
    # request's wall time is split by ("cpu": the CPU alone).
    profile: str | None = None
    # Filled from setup's answer: header values and path may use {placeholders}.
    context: dict[str, Any] = field(default_factory=dict)

    def resolved_path(self) -> str:
        return self.path.format(**self.context)

    def resolved_headers(self) -> dict[str, str]:
        return {**HTTPS, **{k: v.format(**self.context) for k, v in self.headers.items()}}


def _customer_token() -> dict[str, Any]:
    from rest_framework_simplejwt.tokens import RefreshToken

    from apps.accounts.models import User

    user, _ = User.objects.get_or_create(email="bench-customer@foodiefast.bench", defaults={"full_name": "Bench"})
    return {"token": str(RefreshToken.for_user(user).access_token)}


WEBHOOK_SECRET = "whsec_bench"  # noqa: S105 - the bench's own webhook secret (bench/run.py sets it)
_event_counter = 0


def _signed_webhooks(context: dict[str, Any], count: int = 12_000) -> str:
    """Distinct Stripe events signed now (each delivery is a new event, as in real
    traffic), cycled through by wrk's two threads without overlap."""
    global _event_counter  # noqa: PLW0603 - unique event ids across measured points
    from tests.payments.signing import event_payload, signed_delivery

    bodies, signatures = [], []
    for _ in range(count):
        _event_counter += 1
        intent = {"id": f"pi_bench_{_event_counter}", "object": "payment_intent", "status": "requires_capture"}
        body, headers = signed_delivery(
            event_payload("payment_intent.amount_capturable_updated", intent, event_id=f"evt_bench_{_event_counter}"),
            WEBHOOK_SECRET,
        )
        bodies.append(f"[==[{body.decode()}]==]")
        signatures.append(f'"{headers["Stripe-Signature"]}"')
    return "\n".join(
        [
            'wrk.headers["Content-Type"] = "application/json"',
            f"local bodies = {{{','.join(bodies)}}}",
            f"local signatures = {{{','.join(signatures)}}}",
            "local counter = 1",
            "function setup(thread) thread:set('id', counter); counter = counter + 1 end",
            "local i = nil",
            "function request()",
            "  i = i and (i + 2) or id",
            "  local n = ((i - 1) % #bodies) + 1",
            '  wrk.headers["Stripe-Signature"] = signatures[n]',
            '  return wrk.format("POST", nil, nil, bodies[n])',
            "end",
        ]
    )


# Browse: 200 kitchens x 20 dishes around one point (apps/menus seed_bench).
BROWSE_POINT = "lat=48.8566&lng=2.3522"


def _browse_menu() -> dict[str, Any]:
    from apps.menus.management.commands.seed_bench import bench_rows_delete, refresh_planner_statistics, seed_bench

    bench_rows_delete()
    seed_bench(kitchens=200, dishes=20, lat=48.8566, lng=2.3522)
    refresh_planner_statistics()
    return {}


def _distinct_browse_queries(context: dict[str, Any]) -> str:
    """Every request a cache miss with the same answer: a price cap above every dish
    that differs per request (the normalised filters, hence the cache key, differ)."""
    return "\n".join(
        [
            "local counter = 1",
            "function setup(thread) thread:set('id', counter); counter = counter + 1 end",
            "local n = 0",
            "function request()",
            "  n = n + 1",
            f'  local path = "/api/v1/dishes?{BROWSE_POINT}&max_price_cents="',
            "  return wrk.format(nil, path .. (id * 100000000 + 100000 + n))",
            "end",
        ]
    )


# ---------------------------------------------------------------------------
# Checkout and the bare order write it is compared with
# ---------------------------------------------------------------------------

CHECKOUT_CUSTOMERS = 16
CHECKOUT_STOCK = 1_000_000_000  # never sold out, however long the bench runs
CHECKOUT_DROP_OFF = {"address": "12 rue de Rivoli, 75004 Paris", "lat": 48.8566, "lng": 2.3522}
BARE_TABLE = "bench_bare_order"


def _checkout_menu() -> dict[str, Any]:
    """An approved kitchen open all week at the Louvre with a dish for the checkouts
    and one for the bare write (both stocked for ever), and the customers."""
    from django.db import connection
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.chefs.models import Kitchen, OpeningHours
    from apps.menus.models import ALLERGENS, Dish, to_mask
    from foodiefast.localtime import local_today

    chef, _ = User.objects.get_or_create(
        email="bench-chef@foodiefast.bench", defaults={"full_name": "Bench Chef", "role": "chef"}
    )
    kitchen, _ = Kitchen.objects.update_or_create(
        chef=chef,
        defaults={
            "display_name": "Bench kitchen",
            "address": "1 rue de Rivoli, Paris",
            "lat": 48.861,
            "lng": 2.336,
            "delivery_radius_km": 5,
            "delivery_fee_cents": 299,
            "is_approved": True,
            "approved_at": timezone.now(),
        },
    )
    OpeningHours.objects.filter(kitchen=kitchen).delete()
    OpeningHours.objects.bulk_create(
        OpeningHours(kitchen=kitchen, weekday=day, opens_minute=0, closes_minute=24 * 60) for day in range(7)
    )

    def dish(name: str) -> Dish:
        made, _ = Dish.objects.update_or_create(
            kitchen=kitchen,
            name=name,
            defaults={
                "price_cents": 1250,
                "allergen_mask": to_mask(["celery", "sulphites"], ALLERGENS),
                "portions_per_day": CHECKOUT_STOCK,
                "portions_left": CHECKOUT_STOCK,
                "stock_date": local_today(),
                "is_available": True,
            },
        )
        return made

    customers = [
        User.objects.get_or_create(
            email=f"bench-diner-{n}@foodiefast.bench", defaults={"full_name": f"Bench Diner {n}"}
        )[0]
        for n in range(CHECKOUT_CUSTOMERS)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {BARE_TABLE} (id uuid PRIMARY KEY, customer_id uuid NOT NULL,"
            " dish_id uuid NOT NULL, quantity integer NOT NULL, total_cents integer NOT NULL,"
            " created_at timestamptz NOT NULL)"
        )
    return {
        "dish_id": str(dish("Boeuf bourguignon").pk),
        "bare_dish_id": str(dish("Bare write").pk),
        "customer_ids": [str(c.pk) for c in customers],
    }


def _bare_writes(context: dict[str, Any]) -> str:
    """POST / to bench/bare_app.py: the bare write's dish, the customers in turn."""
    bodies = [
        json.dumps({"dish_id": context["bare_dish_id"], "customer_id": customer, "quantity": 2})
        for customer in context["customer_ids"]
    ]
    return "\n".join(
        [
            'wrk.headers["Content-Type"] = "application/json"',
            f"local bodies = {{{','.join(f'[==[{body}]==]' for body in bodies)}}}",
            "local counter = 1",
            "function setup(thread) thread:set('id', counter); counter = counter + 1 end",
            "local n = 0",
            "function request()",
            "  n = n + 1",
            '  return wrk.format("POST", nil, nil, bodies[((id * 7 + n) % #bodies) + 1])',
            "end",
        ]
    )


def _checkouts(context: dict[str, Any]) -> str:
    """Each request a new order: a key never sent before (a prefix per measured
    point, then the thread and a counter), the customers' tokens (fresh for each
    point) in turn."""
    import uuid

    from rest_framework_simplejwt.tokens import AccessToken

    from apps.accounts.models import User

    tokens = [f'"Bearer {AccessToken.for_user(user)}"' for user in User.objects.filter(pk__in=context["customer_ids"])]
    body = json.dumps(
        {"items": [{"dish_id": context["dish_id"], "quantity": 2}], "delivery": CHECKOUT_DROP_OFF, "tip_cents": 100}
    )
    return "\n".join(
        [
            'wrk.headers["Content-Type"] = "application/json"',
            f"local tokens = {{{','.join(tokens)}}}",
            f"local body = [==[{body}]==]",
            "local counter = 1",
            "function setup(thread) thread:set('id', counter); counter = counter + 1 end",
            "local n = 0",
            "function request()",
            "  n = n + 1",
            f'  wrk.headers["Idempotency-Key"] = "{uuid.uuid4().hex}-" .. id .. "-" .. n',
            '  wrk.headers["Authorization"] = tokens[((id * 7 + n) % #tokens) + 1]',
            '  return wrk.format("POST", nil, nil, body)',
            "end",
        ]
    )


def bare_order_write_psycopg(context: dict[str, Any], connections: int, duration: int) -> dict[str, float]:
    """The bare order write without a web stack, ``connections`` threads for ``duration`` seconds, each
    with its own connection looping over::

        BEGIN;
        UPDATE menus_dish SET portions_left = portions_left - 2
         WHERE id = :dish AND portions_left >= 2;     -- the conditional reservation
        INSERT INTO bench_bare_order VALUES (...);     -- the order row
        COMMIT;

    psycopg releases the GIL while it waits for the server, so the threads overlap
    their round trips as wrk's connections do."""
    import os
    import threading
    import uuid

    import psycopg

    url = os.environ["DATABASE_URL"]
    customers = context["customer_ids"]
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    start = threading.Barrier(connections + 1)
    stop = threading.Event()

    def loop(slot: int) -> None:
        with psycopg.connect(url) as conn:
            start.wait()
            n = 0
            while not stop.is_set():
                began = time.perf_counter()
                try:
                    with conn.transaction():
                        taken = conn.execute(
                            "UPDATE menus_dish SET portions_left = portions_left - 2"
                            " WHERE id = %s AND portions_left >= 2",
                            (context["bare_dish_id"],),
                        ).rowcount
                        conn.execute(
                            f"INSERT INTO {BARE_TABLE} VALUES (%s, %s, %s, 2, 2944, now())",  # noqa: S608
                            (uuid.uuid4(), customers[(slot + n) % len(customers)], context["bare_dish_id"]),
                        )
                    if taken != 1:
                        errors[slot] += 1
                except psycopg.Error:
                    errors[slot] += 1
                latencies[slot].append(time.perf_counter() - began)
                n += 1

    threads = [threading.Thread(target=loop, args=(slot,), daemon=True) for slot in range(connections)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(duration)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    elapsed = time.perf_counter() - began
    every = sorted(latency for slot in latencies for latency in slot)

    def percentile(p: float) -> float:
        return every[min(len(every) - 1, int(len(every) * p / 100))] * 1000 if every else 0.0

    return {
        "rps": len(every) / elapsed,
        "p50_ms": percentile(50),
        "p95_ms": percentile(95),
        "p99_ms": percentile(99),
        "requests": len(every),
        "errors": sum(errors),
    }


# Stripe played by localstripe on loopback (bench/run.py starts it when a scenario
# asks for it and fills in ``{localstripe}``).
LOCALSTRIPE_WEB_ENV = {
    "PAYMENTS_DEMO": "0",
    "STRIPE_API_BASE": "{localstripe}",
    "STRIPE_SECRET_KEY": "sk_test_bench",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
}


# ---------------------------------------------------------------------------
# Courier location pings
# ---------------------------------------------------------------------------

PING_COURIERS = 16


def _couriers_on_delivery() -> dict[str, Any]:
    """Couriers online at the Louvre, each holding a claimed delivery of its own
    (opened and claimed through tracking's services, as the API does)."""
    import uuid

    from apps.accounts.models import User
    from apps.tracking.models import Delivery
    from apps.tracking.services import courier_set_availability, delivery_claim, delivery_open
    from foodiefast.geo import Point

    ids = []
    for n in range(PING_COURIERS):
        courier, _ = User.objects.get_or_create(
            email=f"bench-courier-{n}@foodiefast.bench", defaults={"full_name": f"Bench Courier {n}", "role": "courier"}
        )
        courier_set_availability(courier=courier, online=True, lat=48.8615, lng=2.3365)
        if not Delivery.objects.filter(courier=courier, status="claimed").exists():
            delivery = delivery_open(
                reference=str(uuid.uuid4()), pickup=Point(48.861, 2.336), dropoff=Point(48.8566, 2.3522)
            )
            delivery_claim(courier=courier, delivery_id=delivery.pk)
        ids.append(str(courier.pk))
    return {"courier_ids": ids}


def _ping_requests(tokens: list[str]) -> str:
    """wrk's Lua: one point per request (the server's time), these tokens in turn."""
    quoted = ",".join(f'"Bearer {token}"' for token in tokens)
    return "\n".join(
        [
            'wrk.headers["Content-Type"] = "application/json"',
            f"local tokens = {{{quoted}}}",
            "local counter = 1",
            "function setup(thread) thread:set('id', counter); counter = counter + 1 end",
            "local n = 0",
            "function request()",
            "  n = n + 1",
            '  wrk.headers["Authorization"] = tokens[((id * 7 + n) % #tokens) + 1]',
            '  local body = string.format(\'{"lat": %.6f, "lng": 2.3400}\', 48.8600 - (n % 100) / 100000)',
            '  return wrk.format("POST", nil, nil, body)',
            "end",
        ]
    )


def _courier_tokens(courier_ids: list[str]) -> dict[str, str]:
    """A fresh access token of each courier: token -> courier id."""
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.accounts.models import User

    return {str(AccessToken.for_user(user)): str(user.pk) for user in User.objects.filter(pk__in=courier_ids)}


def _pings(context: dict[str, Any]) -> str:
    """The couriers' tokens (fresh for each point) in turn."""
    return _ping_requests(list(_courier_tokens(context["courier_ids"])))


# Where bench/bare_ping.py finds its couriers' tokens (a hash: token -> courier id).
BARE_PING_TOKENS_KEY = "bench:bare_ping:tokens"


def _bare_ping_couriers() -> dict[str, Any]:
    """The same couriers' tokens for bench/bare_ping.py, written where it reads them
    at start (a dict of token -> courier id: no signature checked)."""
    import redis
    from django.conf import settings

    tokens = _courier_tokens(_couriers_on_delivery()["courier_ids"])
    # Added to those of an earlier setup (the bench flushes its Redis db first).
    redis.Redis.from_url(settings.REDIS_URL).hset(BARE_PING_TOKENS_KEY, mapping=tokens)
    return {"tokens": list(tokens)}


SCENARIOS: list[Scenario] = [
    Scenario(name="health_live", path="/health/live"),
    Scenario(name="me", path="/api/v1/me", headers={"Authorization": "Bearer {token}"}, setup=_customer_token),
    Scenario(name="stripe_webhook", path="/api/v1/payments/stripe/webhook", method="POST", lua=_signed_webhooks),
    # A courier on a delivery posts one point: the position in Redis, the order's channel, a trail point at times.
    Scenario(
        name="courier_location",
        path="/api/v1/courier/location",
        method="POST",
        lua=_pings,
        setup=_couriers_on_delivery,
        reference=("bare_ping",),
    ),
    # The least any ping must do, served the same way (bench/bare_ping.py).
    Scenario(
        name="bare_ping",
        path="/api/v1/courier/location",
        method="POST",
        lua=lambda context: _ping_requests(context["tokens"]),
        setup=_bare_ping_couriers,
        web_app="bench.bare_ping:application",
    ),
    # The same point and filters again and again: served from the cache, stock laid over live.
    Scenario(name="dishes_cached", path=f"/api/v1/dishes?{BROWSE_POINT}", setup=_browse_menu),
    Scenario(
        name="dishes_uncached",
        path=f"/api/v1/dishes?{BROWSE_POINT}",
        lua=_distinct_browse_queries,
        setup=lambda: {} if _browse_seeded() else _browse_menu(),
    ),
    Scenario(
        name="bare_order_write",
        path="/",
        method="POST",
        lua=_bare_writes,
        setup=_checkout_menu,
        web_app="bench.bare_app:application",
        profile="cpu",
    ),
    Scenario(name="bare_order_write_psycopg", path="", driver=bare_order_write_psycopg, setup=_checkout_menu),
    Scenario(
        name="orders_checkout",
        path="/api/v1/orders",
        method="POST",
        lua=_checkouts,
        setup=_checkout_menu,
        reference=("bare_order_write", "bare_order_write_psycopg"),
        profile="checkout",
    ),
    Scenario(
        name="orders_checkout_localstripe",
        path="/api/v1/orders",
        method="POST",
        lua=_checkouts,
        setup=_checkout_menu,
        web_env=LOCALSTRIPE_WEB_ENV,
        reference=("bare_order_write", "bare_order_write_psycopg"),
        profile="checkout",
    ),
]


def _browse_seeded() -> bool:
    from apps.menus.models import Dish

    return Dish.objects.filter(kitchen__chef__email__endswith="@bench.foodiefast.invalid").count() == 200 * 20
