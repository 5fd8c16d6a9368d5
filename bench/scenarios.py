"""The scenarios ``make bench`` measures.

A scenario is a request (or a wrk Lua script making one) plus an optional ``setup``
that runs in the bench process against the bench database before the web process
starts and returns what the request needs (a token, ids). The first scenario is the
baseline every other is compared with in the same run.
"""

from __future__ import annotations

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


SCENARIOS: list[Scenario] = [
    Scenario(name="health_live", path="/health/live"),
    Scenario(name="me", path="/api/v1/me", headers={"Authorization": "Bearer {token}"}, setup=_customer_token),
    Scenario(name="stripe_webhook", path="/api/v1/payments/stripe/webhook", method="POST", lua=_signed_webhooks),
    # The same point and filters again and again: served from the cache, stock laid over live.
    Scenario(name="dishes_cached", path=f"/api/v1/dishes?{BROWSE_POINT}", setup=_browse_menu),
    Scenario(
        name="dishes_uncached",
        path=f"/api/v1/dishes?{BROWSE_POINT}",
        lua=_distinct_browse_queries,
        setup=lambda: {} if _browse_seeded() else _browse_menu(),
    ),
]


def _browse_seeded() -> bool:
    from apps.menus.models import Dish

    return Dish.objects.filter(kitchen__chef__email__endswith="@bench.foodiefast.invalid").count() == 200 * 20
