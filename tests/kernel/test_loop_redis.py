"""The event loop's lean Redis client: script calls answered in order over one
connection, a script Redis forgot sent again in full, and a Redis stopped or frozen
failing every waiting call within the timeout (never a hang), then served again."""

from __future__ import annotations

import asyncio
import time

import pytest

from foodiefast.loop_redis import LoopRedis, LoopRedisError, LoopScript, ReplyError
from tests.processes import RedisServer

COUNT = LoopScript("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1]), redis.call('GET', 'absent')}")
TIMEOUT = 0.5
CONTRACT_SECONDS = 3  # API.md: a 503 within 3 seconds, never a hang


@pytest.fixture
def server(tmp_path):
    found = RedisServer(tmp_path)
    yield found
    found.close()


def test_concurrent_calls_get_their_own_answers_in_order(server):
    async def run():
        client = LoopRedis(server.url.replace("/0", "/3"), timeout=TIMEOUT)
        return await asyncio.gather(*(COUNT(client, ["n"], [str(i)]) for i in range(500)))

    answers = asyncio.run(run())

    assert answers == [["n", str(i), i + 1, None] for i in range(500)]
    assert server.client().get("n") is None  # the URL's db (3), not db 0


def test_a_script_redis_forgot_is_sent_again_and_an_error_is_raised(server):
    async def run():
        client = LoopRedis(server.url, timeout=TIMEOUT)
        first = await COUNT(client, ["n"], ["a"])
        server.client().script_flush()
        again = await COUNT(client, ["n"], ["b"])
        with pytest.raises(ReplyError):
            await LoopScript("return redis.call('NO_SUCH_COMMAND')")(client, [], [])
        return first, again, await COUNT(client, ["n"], ["c"])

    assert asyncio.run(run()) == (["n", "a", 1, None], ["n", "b", 2, None], ["n", "c", 3, None])


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
def test_an_unreachable_redis_fails_every_waiting_call_in_time_then_serves_again(server, fault):
    async def run():
        client = LoopRedis(server.url, timeout=TIMEOUT)
        assert (await COUNT(client, ["n"], ["before"]))[2] == 1
        server.kill() if fault == "stopped" else server.freeze()
        started = time.monotonic()
        try:
            failed = await asyncio.gather(*(COUNT(client, ["n"], [str(i)]) for i in range(20)), return_exceptions=True)
        finally:
            took = time.monotonic() - started
            server.start() if fault == "stopped" else server.thaw()
        return failed, took, await COUNT(client, ["m"], ["after"])

    failed, took, after = asyncio.run(run())

    assert all(isinstance(answer, LoopRedisError) for answer in failed)
    assert took < CONTRACT_SECONDS
    assert after == ["m", "after", 1, None]
