"""The bare location ping, served the way a ping is: the floor of ``courier_location``.

The web process runs the Procfile's web line with this module in place of
``config.asgi`` (bench/run.py swaps the app path and nothing else; bench/bare.py):
the same gunicorn ASGI worker and worker count, the same kernel entry, and the ping
answered by an edge handler in the place of tracking's own
(``apps.tracking.api.edge.serve_location``), on the event loop. It does the least any
location ping must do: read the HTTP POST body, parse its JSON point, look the bearer
token up in a dict (the bench's couriers' tokens, written to Redis by the scenario's
setup and read once at start: no signature, no expiry, no claims), make one Redis
round trip on the event loop through the kernel's lean client
(``foodiefast.loop_redis``: a tiny script, HSET of the position and PUBLISH of it on
the courier's channel) and answer ``202`` with a small JSON body. No duty, trail,
ETA, event log, sign-in check, Django headers, access log line or fallback to
Django: those are the ping's own cost, which the ratio measures. Everything else
(``/health/live``...) is served as by ``config.asgi``.

    POST /api/v1/courier/location  Authorization: Bearer <token>  {"lat": 48.86, "lng": 2.34}
    202     {"points":1}
    401     {"code":"not_authenticated"}     400 {"code":"invalid"}     503 {"code":"service_unavailable"}
"""

from __future__ import annotations

import json
import time

import redis
from django.conf import settings

from bench.bare import json_bytes, served
from bench.scenarios import BARE_PING_TOKENS_KEY
from config.wsgi import application as wsgi_application
from foodiefast.asgi import settle_the_heap
from foodiefast.loop_redis import LoopRedis, LoopRedisError, LoopScript, ReplyError

PATH = "/api/v1/courier/location"
SCRIPT = LoopScript(
    "redis.call('HSET', KEYS[1], 'lat', ARGV[1], 'lng', ARGV[2], 'at', ARGV[3])\n"
    "redis.call('PUBLISH', KEYS[2], ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. ARGV[3])\n"
    "return 1\n"
)
_stored = redis.Redis.from_url(settings.REDIS_URL).hgetall(BARE_PING_TOKENS_KEY)
_tokens: dict[bytes, str] = {token: courier.decode() for token, courier in _stored.items()}
_client: list[LoopRedis] = []
_HEADERS = [(b"content-type", b"application/json")]


async def _answer(send, status: int, body: bytes) -> bool:
    headers = [*_HEADERS, (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return True


async def serve_ping(scope, receive, send) -> bool:
    if scope["path"] != PATH or scope["method"] != "POST":
        return False
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    authorization = dict(scope["headers"]).get(b"authorization", b"")
    courier = _tokens.get(authorization[7:]) if authorization.startswith(b"Bearer ") else None
    if courier is None:
        return await _answer(send, 401, json_bytes({"code": "not_authenticated"}))
    try:
        point = json.loads(b"".join(chunks))
        lat, lng = float(point["lat"]), float(point["lng"])
    except (ValueError, KeyError, TypeError):
        return await _answer(send, 400, json_bytes({"code": "invalid"}))
    if not _client:
        _client.append(LoopRedis(settings.REDIS_URL, timeout=0.5))
    try:
        await SCRIPT(_client[0], [f"bare:pos:{courier}", f"bare:feed:{courier}"], [repr(lat), repr(lng), time.time()])
    except (LoopRedisError, ReplyError):
        return await _answer(send, 503, json_bytes({"code": "service_unavailable"}))
    return await _answer(send, 202, b'{"points":1}')


application = served(wsgi_application, edge=("apps.tracking.api.edge.serve_location", "bench.bare_ping.serve_ping"))

settle_the_heap()
