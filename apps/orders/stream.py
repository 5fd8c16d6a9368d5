"""``GET /api/v1/orders/{id}/tracking/stream``: the customer's live tracking (SSE).

Served by the ASGI entry's stream route (``ASGI_STREAM_ROUTES``), on the event loop:
no thread per stream, so a web process holds thousands. Opening costs one short hop
to a small thread pool (:data:`OPEN_THREADS`) to check the token and read the order
(one query); nothing per event touches the database or a thread.

What the client gets (API.md): on connect a ``status`` event with the current status
and, when a courier is on the way, a ``location`` event with the latest position,
both with the id of the newest event in the order's channel; then the channel's
events as they happen, each with its ``id:``. With ``Last-Event-ID`` the events
missed since that id come first instead, from the channel's log; the stream follows
the feed from the moment it subscribed and drops what it already sent by id, so
there is no gap and no duplicate. A comment heartbeat goes out every
``TRACKING_STREAM_HEARTBEAT_SECONDS``. The stream ends after the final status
(``delivered``, ``cancelled``); a request for an ended order answers 204, unless its
``Last-Event-ID`` is before the final event (then the missed events and the end). It
ends with a ``retry:`` hint after ``TRACKING_STREAM_MAX_SECONDS``, when the process
stops (SIGTERM), or when the client falls far behind: the client reconnects, to
another process if need be, with ``Last-Event-ID`` and misses nothing.

While Redis is unreachable open streams keep their heartbeat; once the process's
subscription is back they read what they missed from the log. A stream cannot start
without Redis: 503 ``service_unavailable`` with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace

from django.conf import settings
from django.db import close_old_connections
from django.utils import translation
from django.utils.translation import get_supported_language_variant
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.fields import DateTimeField
from rest_framework_simplejwt.authentication import JWTAuthentication

from apps.accounts.permissions import IsCustomer
from apps.orders.errors import OrderNotFound, ShareExpired, ShareNotFound
from apps.orders.models import FINAL_STATUSES, OrderStatus
from apps.orders.selectors import order_status_for_customer, order_statuses, shared_order_get
from apps.orders.services.status import status_to_channel
from apps.orders.sharing import page_throttled
from apps.tracking import live
from apps.tracking.channel import (
    LOCATION,
    STATUS,
    ChannelEvent,
    ChannelUnavailable,
    channel_events_since,
    channel_events_since_async,
    channel_newest,
    channel_newest_async,
    id_key,
    is_event_id,
    newest_id,
)
from foodiefast.errors import DATABASE_UNAVAILABLE, ServiceUnavailable
from foodiefast.http import client_address
from foodiefast.middleware import log_request, request_id_from

# Threads that open streams (token, one query): each keeps one database connection.
OPEN_THREADS = 4
# The position of each status along the order's life: a later one is never replaced
# by an earlier one read elsewhere (the database or the channel, whichever is ahead).
_PROGRESS = {status: rank for rank, status in enumerate(OrderStatus.values)}
_PROGRESS[OrderStatus.CANCELLED] = len(_PROGRESS)
_opener = ThreadPoolExecutor(max_workers=OPEN_THREADS, thread_name_prefix="stream-open")
_jwt = JWTAuthentication()
HEARTBEAT = b": keep-alive\n\n"
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-store"),
    (b"x-accel-buffering", b"no"),
]


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    detail: str
    headers: tuple[tuple[bytes, bytes], ...] = ()


# What a stream shows of an event: the event as is (the customer's), or rebuilt
# by a privacy rule (a shared link's), or None to leave it out.
Shown = Callable[[ChannelEvent], ChannelEvent | None]


@dataclass(frozen=True)
class Opened:
    user_id: str | None
    status: str
    at: str
    reference: str = ""
    shown: Shown | None = None


def _bearer(authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _language(accept_language: str) -> str:
    """The language an API error's ``detail`` is written in, as Django picks it."""
    for code, _quality in parse_accept_lang_header(accept_language):
        if code == "*":
            break
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def open_stream(*, authorization: str, order_id: str, accept_language: str = "") -> Opened | Refusal:
    """Who asks and the order's status, as the API checks them (runs in a thread);
    a refusal's ``detail`` in the language ``accept_language`` asks for."""
    with translation.override(_language(accept_language)):
        return _open_stream(authorization=authorization, order_id=order_id)


def _open_stream(*, authorization: str, order_id: str) -> Opened | Refusal:
    close_old_connections()
    try:
        token = _bearer(authorization)
        if token is None:
            return Refusal(401, "not_authenticated", _("Authentication credentials were not provided."))
        try:
            user = _jwt.get_user(_jwt.get_validated_token(token))
        except AuthenticationFailed:
            return Refusal(401, "not_authenticated", _("Given token not valid for any token type"))
        if not IsCustomer().has_permission(SimpleNamespace(user=user), None):
            return Refusal(403, "permission_denied", _(IsCustomer.message))
        try:
            status, at = order_status_for_customer(customer=user, order_id=order_id)
        except OrderNotFound as error:
            return Refusal(404, error.code, str(error.detail))
        return Opened(user_id=str(user.pk), status=status, at=DateTimeField().to_representation(at), reference=order_id)
    except DATABASE_UNAVAILABLE:
        return _unavailable()
    finally:
        close_old_connections()


def shared_stream_opening(*, token: str, client: str) -> Opened | Refusal:
    """The order behind a shared link and the privacy rule its stream follows, as
    the page checks them: 404 for an unknown or revoked link, 410 for an expired one,
    429 past the page's throttle."""
    retry = page_throttled(client)
    if retry is not None:
        error = Throttled(wait=retry)
        return Refusal(429, "throttled", str(error.detail), ((b"retry-after", str(retry).encode()),))
    try:
        shared = shared_order_get(token=token)
    except (ShareNotFound, ShareExpired) as error:
        return Refusal(error.status_code, error.code, str(error.detail))
    return Opened(
        user_id=None,
        status=shared.status,
        at=DateTimeField().to_representation(shared.status_at),
        reference=shared.order_id,
        shown=shared.privacy.event,
    )


def open_shared_stream(*, token: str, client: str, accept_language: str = "") -> Opened | Refusal:
    """:func:`shared_stream_opening` in a thread of the stream's pool, a refusal's
    ``detail`` in the language ``accept_language`` asks for."""
    close_old_connections()
    try:
        with translation.override(_language(accept_language)):
            return shared_stream_opening(token=token, client=client)
    except DATABASE_UNAVAILABLE:
        return _unavailable()
    finally:
        close_old_connections()


def status_repair(references: list[str]) -> int:
    """After Redis was lost and is back: a status move made meanwhile could not be
    published (:func:`status_to_channel` logs it and goes on). For each order followed
    here whose channel is behind its database status, publish that status now (one
    query for them all); how many. Runs in a thread."""
    close_old_connections()
    try:
        repaired = 0
        for reference, (status, at) in order_statuses(order_ids=references).items():
            newest = channel_newest(reference=reference).get(STATUS)
            if newest is None or _PROGRESS.get(newest.data.get("status"), -1) < _PROGRESS[status]:
                status_to_channel(reference=reference, status=status, at=at)
                repaired += 1
        return repaired
    except (ChannelUnavailable, *DATABASE_UNAVAILABLE):
        return 0
    finally:
        close_old_connections()


def _repair_after_resync(references: list[str]) -> None:
    asyncio.get_running_loop().run_in_executor(_opener, status_repair, references)


live.on_resync(_repair_after_resync)


def _unavailable() -> Refusal:
    error = ServiceUnavailable()
    return Refusal(503, error.code, str(error.detail), ((b"retry-after", str(error.retry_after_seconds).encode()),))


def sse(event_id: str, kind: str, data_json: str) -> bytes:
    return f"id: {event_id}\nevent: {kind}\ndata: {data_json}\n\n".encode()


def _event_bytes(event: ChannelEvent, shown: Shown | None = None) -> bytes:
    if shown is not None and (event := shown(event)) is None:
        return b""
    return sse(event.id, event.kind, json.dumps(event.data, separators=(",", ":")))


def _retry_hint() -> bytes:
    """The end's reconnection delay: the base delay plus a random share of the
    jitter, so that the streams a stopping process ends all at once (thousands) do not
    come back all at the same instant."""
    delay = settings.TRACKING_STREAM_RETRY_MILLISECONDS + random.randint(  # noqa: S311 - not a secret
        0, settings.TRACKING_STREAM_RETRY_JITTER_MILLISECONDS
    )
    return f"retry: {delay}\n\n".encode()


def stream_once(
    *, order_id: str, status: str, at: str, last_event_id: str | None, shown: Shown | None = None
) -> bytes | None:
    """What a server without the stream route answers (the Django view): the events a
    stream would start with (as ``shown`` shows them), then the end with a ``retry:``
    hint; None for 204. Raises :class:`ChannelUnavailable`."""
    last_event_id = last_event_id if is_event_id(last_event_id) else None
    if last_event_id:
        events = channel_events_since(reference=order_id, after=last_event_id)
        if not events and status in FINAL_STATUSES:
            return None
        body = b"".join(_event_bytes(event, shown) for event in events)
    elif status in FINAL_STATUSES:
        return None
    else:
        opened = Opened(user_id="", status=status, at=at)
        first = _first_events(opened, channel_newest(reference=order_id))
        body = b"".join(_event_bytes(event, shown) for event in first)
    return body + _retry_hint()


class _Stream:
    """One open stream: what it sent last, and how to send more."""

    def __init__(self, send) -> None:
        self.send = send
        self.shown: Shown | None = None
        self.last_id = "0-0"
        self.last_status: str | None = None
        self.started = False

    async def start(self, request_id: str) -> None:
        headers = [*SSE_HEADERS, (b"x-request-id", request_id.encode())]
        await self.send({"type": "http.response.start", "status": 200, "headers": headers})
        self.started = True

    async def write(self, body: bytes) -> None:
        await self.send({"type": "http.response.body", "body": body, "more_body": True})

    async def end(self, body: bytes = b"") -> None:
        await self.send({"type": "http.response.body", "body": body, "more_body": False})

    def take(self, event: ChannelEvent) -> bytes:
        """``event`` as the client gets it, or b"" when it was sent already (or it
        repeats the status the client has)."""
        if id_key(event.id) <= id_key(self.last_id):
            return b""
        self.last_id = event.id
        if event.kind == STATUS:
            status = event.data.get("status")
            if status == self.last_status and not event.final:
                return b""
            self.last_status = status
        return _event_bytes(event, self.shown)


def _watch_disconnect(receive, subscription: live.Subscription) -> asyncio.Task:
    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        subscription.push(live.CLOSED)

    return asyncio.get_running_loop().create_task(watch())


def _first_events(opened: Opened, newest: dict[str, ChannelEvent]) -> list[ChannelEvent]:
    """What a client without ``Last-Event-ID`` gets first: the current status (the
    channel's when it is as far as the database's, else the database's) and the
    courier's latest position, all with the id of the channel's newest event."""
    snapshot = newest_id(newest.values()) or "0-0"
    status = newest.get(STATUS)
    if status is None or _PROGRESS.get(status.data.get("status"), -1) < _PROGRESS[opened.status]:
        status = ChannelEvent(id=snapshot, kind=STATUS, data={"status": opened.status, "at": opened.at})
    first = [ChannelEvent(id=snapshot, kind=STATUS, data=status.data, final=status.data["status"] in FINAL_STATUSES)]
    location = newest.get(LOCATION)
    if location is not None and not first[0].final:
        first.append(ChannelEvent(id=snapshot, kind=LOCATION, data=location.data))
    return first


async def _follow(stream: _Stream, subscription: live.Subscription, *, reference: str) -> bytes:
    """Send the feed's events until the stream ends; what to end it with."""
    heartbeat = settings.TRACKING_STREAM_HEARTBEAT_SECONDS
    deadline = time.monotonic() + settings.TRACKING_STREAM_MAX_SECONDS
    resync = False  # what was missed while the feed was lost is still to be read
    while True:
        item = await subscription.get(min(heartbeat, max(0.0, deadline - time.monotonic())))
        if time.monotonic() >= deadline or item is live.DRAIN or item is live.OVERFLOW:
            return _retry_hint()
        if item is live.CLOSED:
            return b""
        resync = resync or item is live.RESYNC
        if resync:
            try:
                events = await channel_events_since_async(reference=reference, after=stream.last_id)
                resync = False
            except ChannelUnavailable:  # Redis is flapping: try again at the next wake-up
                events = []
        else:
            events = [item] if isinstance(item, ChannelEvent) else []
        body = b""
        for event in events:
            body += stream.take(event)
            if event.final:
                await stream.write(body)
                return b""
        if body or item is None:
            await stream.write(body or HEARTBEAT)


async def serve(scope, receive, send, *, order_id: str) -> None:
    """The customer's stream route (ASGI)."""

    def opener(request: _Request) -> Opened | Refusal:
        return open_stream(
            authorization=request.header(b"authorization"),
            order_id=order_id,
            accept_language=request.header(b"accept-language"),
        )

    await _serve(scope, receive, send, opener)


async def serve_shared(scope, receive, send, *, token: str) -> None:
    """A shared link's stream route (ASGI): the customer's stream, without auth but
    the token, each event rebuilt by the link's privacy rule (:mod:`apps.orders.sharing`)."""

    def opener(request: _Request) -> Opened | Refusal:
        return open_shared_stream(
            token=token, client=request.client(), accept_language=request.header(b"accept-language")
        )

    await _serve(scope, receive, send, opener)


async def _serve(scope, receive, send, opener: Callable[[_Request], Opened | Refusal]) -> None:
    request = _Request(scope, receive, send, opener=opener)
    try:
        await request.serve()
    finally:
        log_request(
            method=scope["method"],
            path=scope["path"],
            status=request.status,
            started=request.started,
            user_id=request.user_id,
        )


class _Request:
    def __init__(self, scope, receive, send, *, opener: Callable[[_Request], Opened | Refusal]) -> None:
        self.started = time.perf_counter()
        self.scope, self.receive, self.send = scope, receive, send
        self.opener = opener
        self.reference = ""
        self.headers = dict(scope["headers"])
        self.request_id = request_id_from(self.header(b"x-request-id"))
        self.status = 200
        self.user_id: str | None = None
        self.stream = _Stream(send)

    def header(self, name: bytes) -> str:
        return self.headers.get(name, b"").decode("latin-1").strip()

    def client(self) -> str:
        peer = self.scope.get("client") or ("", 0)
        return client_address(forwarded=self.header(b"x-forwarded-for"), remote_addr=peer[0])

    async def refuse(self, refusal: Refusal) -> None:
        self.status = refusal.status
        body = json.dumps({"code": refusal.code, "detail": refusal.detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", self.request_id.encode()),
            *refusal.headers,
        ]
        if refusal.status == 401:
            headers.append((b"www-authenticate", b'Bearer realm="api"'))
        await self.send({"type": "http.response.start", "status": refusal.status, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})

    async def no_content(self) -> None:
        self.status = 204
        headers = [(b"x-request-id", self.request_id.encode())]
        await self.send({"type": "http.response.start", "status": 204, "headers": headers})
        await self.send({"type": "http.response.body", "body": b""})

    async def serve(self) -> None:
        if self.scope["method"] != "GET":
            detail = _('Method "%s" not allowed.') % self.scope["method"]
            return await self.refuse(Refusal(405, "method_not_allowed", detail))
        last_event_id = self.header(b"last-event-id")
        last_event_id = last_event_id if is_event_id(last_event_id) else None
        opened = await asyncio.get_running_loop().run_in_executor(_opener, self.opener, self)
        if isinstance(opened, Refusal):
            return await self.refuse(opened)
        self.user_id, self.reference, self.stream.shown = opened.user_id, opened.reference, opened.shown
        try:
            if opened.status in FINAL_STATUSES:
                return await self.replay_ended(last_event_id)
            await self.follow(opened, last_event_id)
        except ChannelUnavailable:
            if self.stream.started:
                return await self.stream.end(_retry_hint())
            return await self.refuse(_unavailable())

    async def replay_ended(self, last_event_id: str | None) -> None:
        """An ended order: the events after ``last_event_id``, or 204."""
        missed = (
            await channel_events_since_async(reference=self.reference, after=last_event_id) if last_event_id else []
        )
        if not missed:
            return await self.no_content()
        await self.stream.start(self.request_id)
        await self.stream.end(b"".join(self.stream.take(event) for event in missed))

    async def follow(self, opened: Opened, last_event_id: str | None) -> None:
        hub = live.hub()
        subscription = await hub.subscribe(self.reference)
        watcher = _watch_disconnect(self.receive, subscription)
        stream = self.stream
        try:
            if last_event_id:
                stream.last_id = last_event_id
                first = await channel_events_since_async(reference=self.reference, after=last_event_id)
                body = b"".join(stream.take(event) for event in first)
            else:
                first = _first_events(opened, await channel_newest_async(reference=self.reference))
                body = b"".join(_event_bytes(event, stream.shown) for event in first)  # one id for the snapshot
                stream.last_id, stream.last_status = first[0].id, first[0].data["status"]
            await stream.start(self.request_id)
            if any(event.final for event in first):
                return await stream.end(body)
            await stream.write(body or HEARTBEAT)
            await stream.end(await _follow(stream, subscription, reference=self.reference))
        finally:
            watcher.cancel()
            await hub.unsubscribe(subscription)
