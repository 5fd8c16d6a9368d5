"""Courier location pings answered by the ASGI entry, before Django.

A courier's app posts its position every few seconds, so pings are most of the
courier traffic. A ping that Redis alone can take (the usual one: a signed-in
courier on duty, a valid body) is answered here: the token is checked in-process
(signature, type and claims once per token, its claims then kept by the token string
until it expires; expiry on every ping), the body parsed as the view does, then
:func:`~apps.tracking.services.courier_location_record_in_redis_async` runs on the
event loop: one Redis round trip (the position, the trail's choice and the channel's
publish in one script), which also checks what Django last found of that courier
(their role and a digest of the password claim their tokens must carry, kept
:data:`~apps.tracking.positions.AUTH_TTL_SECONDS` by the view); trail points it keeps
are written by a thread of their own. The 202 carries the headers Django gave the
last 202 for the same scheme and host, so host validation, the HTTPS redirect and
the security headers stay Django's; the access line is Django's too.

Everything else goes on to Django with the body read here (the entry replays it):
another path or method, a body that is not JSON or not valid, a token Django has not
vouched for within the last minute, an offline courier, a duty Redis does not hold,
Redis failing. Django then answers as the API always does. A revoked token (password
changed, account erased) is refused here too once Django has seen the change, at
most a minute later.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time

from django.conf import settings
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken

from apps.tracking import services
from apps.tracking.api.serializers import points_from
from foodiefast.asgi import REPLAY_BODY, WATCH_RESPONSE
from foodiefast.errors import DomainError
from foodiefast.logging import request_id_var
from foodiefast.metrics import ROUTE_KEY
from foodiefast.middleware import log_request, request_id_from

PATH = "/api/v1/courier/location"
_SKIPPED_HEADERS = {b"content-length", b"x-request-id", b"date", b"server"}
# The headers of Django's last 202 here, by (scheme, host).
_answers: dict[tuple[str, bytes], list[tuple[bytes, bytes]]] = {}
_answers_lock = threading.Lock()
# What a verified token says, by the token as sent: (user id, claim digest, the time it
# expires, leeway included). Its signature is checked once, its expiry on every use.
# Bounded: emptied when full.
_claims: dict[bytes, tuple[str, str, float]] = {}
CLAIMS_MAX = 4096


def claim_digest(token) -> str:
    """What the view remembers of a token Django vouched for, and the edge compares."""
    claim = str(token.get(api_settings.REVOKE_TOKEN_CLAIM, "")) if token is not None else ""
    return hashlib.sha256(f"courier:{claim}".encode()).hexdigest()


@functools.lru_cache(maxsize=4)
def _proxy_header(setting: tuple[str, str] | None) -> tuple[bytes, str] | None:
    """``SECURE_PROXY_SSL_HEADER`` as an ASGI header name and the value meaning https."""
    if not setting:
        return None
    meta_name, secure_value = setting
    return meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode(), secure_value


def _scheme(scope, headers: dict[bytes, bytes]) -> str:
    """The scheme as Django's ``request.scheme`` reads it (``SECURE_PROXY_SSL_HEADER``)."""
    setting = settings.SECURE_PROXY_SSL_HEADER
    proxy = _proxy_header(tuple(setting) if setting else None)
    if proxy is not None:
        value = headers.get(proxy[0])
        if value is not None:
            return "https" if value.decode("latin-1").split(",", 1)[0].strip() == proxy[1] else "http"
    return scope.get("scheme", "http")


def _watch(key: tuple[str, bytes]):
    """Remember the headers of Django's 202 for ``key`` (called with its response start)."""

    def seen(message: dict) -> None:
        if message.get("status") == 202:
            kept = [(name, value) for name, value in message.get("headers", []) if name.lower() not in _SKIPPED_HEADERS]
            with _answers_lock:
                _answers[key] = kept

    return seen


async def _body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _token_claims(raw: bytes) -> tuple[str, str] | None:
    """The user id and claim digest of a valid access token, or None: signature, type
    and claims checked as ``AccessToken`` does the first time a token is seen, its
    expiry (with the backend's leeway) on every use."""
    cached = _claims.get(raw)
    if cached is None:
        try:
            token = AccessToken(raw.decode("latin-1"))
            until = float(token["exp"]) + token.get_token_backend().get_leeway().total_seconds()
        except (TokenError, UnicodeError, KeyError, TypeError, ValueError):
            return None
        cached = (str(token.get(api_settings.USER_ID_CLAIM, "")), claim_digest(token), until)
        if len(_claims) >= CLAIMS_MAX:
            _claims.clear()
        _claims[raw] = cached
    if time.time() >= cached[2]:
        _claims.pop(raw, None)
        return None
    return cached[0], cached[1]


async def _fast(authorization: bytes | None, body: bytes) -> tuple[int, str] | None:
    """How many points were taken and the courier's id, or None to leave the ping
    to Django."""
    if not authorization or not authorization.startswith(b"Bearer "):
        return None
    claims = _token_claims(authorization[7:].strip())
    if claims is None:
        return None
    user_id, digest = claims
    try:
        points = points_from(json.loads(body))
    except (ValueError, DomainError):
        return None
    taken = await services.courier_location_record_in_redis_async(courier_id=user_id, points=points, vouched=digest)
    return None if taken is None else (len(points), user_id)


async def serve_location(scope, receive, send) -> bool:
    """Answer a courier's ping from Redis; False to leave it to Django."""
    if scope["path"] != PATH or scope["method"] != "POST" or not settings.REDIS_URL:
        return False
    started = time.perf_counter()
    headers = dict(scope["headers"])
    key = (_scheme(scope, headers), headers.get(b"host", b""))
    body = await _body(receive)
    template = _answers.get(key)
    media = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
    fast = None
    if template is not None and media == b"application/json":
        fast = await _fast(headers.get(b"authorization"), body)
    if fast is None:
        scope[REPLAY_BODY] = body
        scope[WATCH_RESPONSE] = _watch(key)
        return False
    taken, user_id = fast
    scope[ROUTE_KEY] = PATH  # counted as Django would name the route (foodiefast/metrics.py)
    answer = b'{"points":%d}' % taken  # as DRF renders it
    request_id = request_id_from(headers.get(b"x-request-id", b"").decode("latin-1"))
    await send(
        {
            "type": "http.response.start",
            "status": 202,
            "headers": [
                *template,
                (b"content-length", str(len(answer)).encode()),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer})
    token = request_id_var.set(request_id)
    try:
        log_request(method="POST", path=PATH, status=202, started=started, user_id=user_id)
    finally:
        request_id_var.reset(token)
    return True
