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
    # Lua run by wrk instead of a fixed request (e.g. to vary the query per request).
    lua: str | None = None
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


SCENARIOS: list[Scenario] = [
    Scenario(name="health_live", path="/health/live"),
    Scenario(name="me", path="/api/v1/me", headers={"Authorization": "Bearer {token}"}, setup=_customer_token),
]
