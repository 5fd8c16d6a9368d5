"""Request helpers shared by every app."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(*, forwarded: str, remote_addr: str) -> str:
    """The client's address: with N trusted proxies, the Nth address from the end
    of ``X-Forwarded-For`` (what the last trusted proxy saw); else the peer's."""
    proxies = settings.TRUSTED_PROXIES
    if proxies > 0 and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return remote_addr or "unknown"


def client_ip(request: HttpRequest) -> str:
    """:func:`client_address` of a Django request."""
    return client_address(
        forwarded=request.META.get("HTTP_X_FORWARDED_FOR", ""), remote_addr=request.META.get("REMOTE_ADDR", "")
    )
