"""``GET /t/{token}``: the live tracking page a customer's shared link opens.

Server-rendered, no account needed, a small script (``orders/share/page.js``) and
Leaflet served by the app: no build step, no CDN. What it shows follows the privacy
rule of :mod:`apps.orders.sharing`; the stream it follows is ``/t/{token}/stream``
(:func:`apps.orders.stream.serve_shared`). Unknown or revoked links answer a 404 page,
expired ones a 410 page. Every answer carries a strict Content-Security-Policy (scripts
and styles from the app only, images from the app and the tile server), no referrer,
and ``X-Robots-Tag: noindex``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from apps.orders import selectors
from apps.orders.errors import ShareExpired, ShareNotFound
from apps.orders.models import FINAL_STATUSES, OrderStatus
from apps.orders.sharing import page_throttled
from apps.orders.stream import Refusal, shared_stream_opening, stream_once
from apps.tracking.channel import LOCATION, ChannelUnavailable, channel_latest
from apps.tracking.selectors import delivery_tracking
from foodiefast.http import client_ip

S = OrderStatus
# What the page says for each status (text, never only a colour).
STEP_LABELS = {
    S.PENDING_PAYMENT: _("Order placed"),
    S.PAID: _("Paid, waiting for the kitchen"),
    S.ACCEPTED: _("The kitchen is cooking"),
    S.READY_FOR_PICKUP: _("Ready, waiting for the courier"),
    S.PICKED_UP: _("On the way"),
    S.DELIVERED: _("Delivered"),
    S.CANCELLED: _("Cancelled"),
}
ENDED_MESSAGES = {
    S.DELIVERED: _("Delivered. Enjoy your meal! This page no longer updates."),
    S.CANCELLED: _("This order was cancelled. This page no longer updates."),
}
_LIFE = [S.PENDING_PAYMENT, S.PAID, S.ACCEPTED, S.READY_FOR_PICKUP, S.PICKED_UP, S.DELIVERED]


def tile_origin(tile_url: str) -> str:
    """The origin a CSP must allow images from for ``MAP_TILE_URL`` (``{s}`` as ``*``)."""
    parts = urlsplit(tile_url)
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}"


def content_security_policy() -> str:
    images = " ".join(filter(None, ["'self'", "data:", tile_origin(settings.MAP_TILE_URL)]))
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def _page(request: HttpRequest, template: str, context: dict, *, status: int) -> HttpResponse:
    response = HttpResponse(render_to_string(template, context, request=request), status=status)
    response["Content-Security-Policy"] = content_security_policy()
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    return response


def _steps(status: str, timeline: list) -> list[dict]:
    """The timeline: every step of an order's life with its state (done, now, next);
    a cancelled order shows what happened, then the cancellation."""
    reached = dict(timeline)
    steps = [S.CANCELLED] if status == S.CANCELLED else []
    life = [step for step in _LIFE if step in reached] if status == S.CANCELLED else _LIFE
    current = _LIFE.index(status) if status in _LIFE else len(_LIFE)
    shown = []
    for index, step in enumerate([*life, *steps]):
        if step == status:
            state = "now"
        elif status == S.CANCELLED or index < current:
            state = "done"
        else:
            state = "next"
        shown.append({"status": step, "label": STEP_LABELS[step], "state": state, "at": reached.get(step)})
    return shown


def _first_location(shared: selectors.SharedOrder) -> dict | None:
    """The courier's latest position as the page may show it (None when there is none
    yet or Redis is unreachable: the stream brings it)."""
    if shared.status in FINAL_STATUSES:
        return None
    try:
        event = channel_latest(reference=shared.order_id, kind=LOCATION)
    except ChannelUnavailable:
        return None
    return shared.privacy.location(event.data) if event is not None else None


def _courier_name(shared: selectors.SharedOrder) -> str:
    """The courier's first name once one carries the order ("" before and after)."""
    if shared.status in FINAL_STATUSES:
        return ""
    courier = delivery_tracking(reference=shared.order_id).courier
    return courier.name if courier is not None else ""


@require_GET
def share_page(request: HttpRequest, token: str) -> HttpResponse:
    retry = page_throttled(client_ip(request))
    if retry is not None:
        response = _page(request, "orders/share/problem.html", {"problem": "throttled"}, status=429)
        response["Retry-After"] = str(retry)
        return response
    try:
        shared = selectors.shared_order_get(token=token)
    except ShareNotFound:
        return _page(request, "orders/share/problem.html", {"problem": "not_found"}, status=404)
    except ShareExpired:
        return _page(request, "orders/share/problem.html", {"problem": "expired"}, status=410)
    context = {
        "shared": shared,
        "kitchen_name": shared.kitchen_name or _("The kitchen"),
        "steps": _steps(shared.status, shared.timeline),
        "status_label": STEP_LABELS.get(shared.status, shared.status),
        "ended": shared.status in FINAL_STATUSES,
        "ended_message": ENDED_MESSAGES.get(shared.status, ""),
        "ended_messages": ENDED_MESSAGES,
        "step_labels": STEP_LABELS,
        "location": _first_location(shared),
        "courier_name": _courier_name(shared),
        "tile_url": settings.MAP_TILE_URL,
        "stream_url": f"/t/{token}/stream",
    }
    return _page(request, "orders/share/page.html", context, status=200)


@require_GET
def share_stream(request: HttpRequest, token: str) -> HttpResponse:
    """Served by the ASGI entry's stream route (:func:`apps.orders.stream.serve_shared`),
    which holds the stream open. A server without that route reaches this view: the
    stream's first events as the link shows them, then the end with a ``retry:`` hint."""
    opened = shared_stream_opening(token=token, client=client_ip(request))
    if isinstance(opened, Refusal):
        response = JsonResponse({"code": opened.code, "detail": opened.detail}, status=opened.status)
        for name, value in opened.headers:
            response[name.decode()] = value.decode()
        return response
    try:
        body = stream_once(
            order_id=opened.reference,
            status=opened.status,
            at=opened.at,
            last_event_id=request.headers.get("Last-Event-ID"),
            shown=opened.shown,
        )
    except ChannelUnavailable as error:
        return JsonResponse(
            error.as_dict(), status=error.status_code, headers={"Retry-After": str(error.retry_after_seconds)}
        )
    if body is None:
        return HttpResponse(status=204)
    return HttpResponse(body, content_type="text/event-stream; charset=utf-8", headers={"Cache-Control": "no-cache"})
