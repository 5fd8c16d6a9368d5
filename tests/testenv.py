"""The test environment, set before Django's settings load (loaded with ``-p``).

Tests run with production settings (debug off) against real PostgreSQL and Redis;
anything already in the environment wins, so a run can pick its own database and
Redis db. By default two checkouts on one machine share nothing: the database name
derives from the checkout's path, each run claims Redis dbs no other checkout's run
holds, and the static files collected for the run are removed when it ends.
"""

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import redis

CHECKOUT = Path(__file__).resolve().parent.parent
CHECKOUT_ID = hashlib.sha256(str(CHECKOUT).encode()).hexdigest()[:8]

# Redis has 16 dbs: 0 is `make run`'s, 1 the old shared test db. A run takes one of
# seven pairs from 2-3 to 14-15 (the suite's, then the end-to-end processes'), starting
# from the one its checkout's path points at, and claims it in db 0 while it runs, so a
# run of another checkout takes the next free pair. A claim outlives a killed run by
# at most CLAIM_SECONDS (the same checkout takes its own claim back at once).
REDIS_PAIRS = 7
CLAIM_SECONDS = 2 * 60 * 60


def _claims() -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=6379, db=0, socket_connect_timeout=1, socket_timeout=1)


# What this module set (not what the caller exported) is named in this variable, so
# that pytest-xdist's workers, which inherit the main process's environment, set their
# own values instead of sharing the main process's.
SET_HERE = "FOODIEFAST_TESTENV_SET"
if "PYTEST_XDIST_WORKER" in os.environ:
    # Only the values still as the main process set them (a test may export others).
    for _name, _value in json.loads(os.environ.pop(SET_HERE, "{}")).items():
        if os.environ.get(_name) == _value:
            del os.environ[_name]
_set_here: dict[str, str] = {}

# Under pytest-xdist each worker process is a run of its own (its own test database,
# which pytest-django suffixes with the worker's name, and its own Redis pair, since a
# test clears its Redis db).
RUNNER = f"{CHECKOUT}#{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def _claim_redis_pair() -> tuple[int, str | None]:
    """(the first db of the pair this run uses, the key of its claim or None)."""
    first = int(hashlib.sha256(RUNNER.encode()).hexdigest()[:8], 16) % REDIS_PAIRS
    if "REDIS_URL" in os.environ and "E2E_REDIS_URL" in os.environ:
        return 2 + 2 * first, None
    claims = _claims()
    try:
        for step in range(REDIS_PAIRS):
            pair = 2 + 2 * ((first + step) % REDIS_PAIRS)
            key = f"foodiefast:test-run:redis-pair:{pair}"
            if claims.set(key, RUNNER, nx=True, ex=CLAIM_SECONDS) or claims.get(key) == RUNNER.encode():
                claims.expire(key, CLAIM_SECONDS)
                return pair, key
    except redis.RedisError:  # Redis is down: the tests say so themselves
        pass
    finally:
        claims.close()
    return 2 + 2 * first, None


_REDIS_PAIR, _REDIS_CLAIM = _claim_redis_pair()

TEST_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "test-secret-key-that-is-long-enough-for-hmac-sha256-signing-0123456789",
    "DJANGO_ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    # pytest-django creates and uses test_<this name>.
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/foodiefast_{CHECKOUT_ID}",
    "REDIS_URL": f"redis://127.0.0.1:6379/{_REDIS_PAIR}",
    "E2E_REDIS_URL": f"redis://127.0.0.1:6379/{_REDIS_PAIR + 1}",
    "STRIPE_SECRET_KEY": "sk_test_foodiefast",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_foodiefast",
    "STRIPE_WEBHOOK_SECRET": "whsec_test_foodiefast",
    "DJANGO_LOG_LEVEL": "WARNING",
    "RELEASE_VERSION": "test",
}

for name, value in TEST_ENV.items():
    if name not in os.environ:
        os.environ[name] = _set_here[name] = value

# Static files are collected once per run (tests/conftest.py), as the build does, into
# a folder of this run that is removed when the run ends.
_OWN_STATIC_ROOT = None
if "DJANGO_STATIC_ROOT" not in os.environ:
    _OWN_STATIC_ROOT = tempfile.mkdtemp(prefix=f"foodiefast-static-{CHECKOUT_ID}-")
    os.environ["DJANGO_STATIC_ROOT"] = _OWN_STATIC_ROOT
    _set_here["DJANGO_STATIC_ROOT"] = _OWN_STATIC_ROOT


# Photos written with no bucket configured go to a folder of this run too.
_OWN_MEDIA_ROOT = None
if "DJANGO_MEDIA_ROOT" not in os.environ:
    _OWN_MEDIA_ROOT = tempfile.mkdtemp(prefix=f"foodiefast-media-{CHECKOUT_ID}-")
    os.environ["DJANGO_MEDIA_ROOT"] = _OWN_MEDIA_ROOT
    _set_here["DJANGO_MEDIA_ROOT"] = _OWN_MEDIA_ROOT

os.environ[SET_HERE] = json.dumps(_set_here)


def pytest_unconfigure(config):
    for folder in (_OWN_STATIC_ROOT, _OWN_MEDIA_ROOT):
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    if _REDIS_CLAIM:
        claims = _claims()
        try:
            if claims.get(_REDIS_CLAIM) == RUNNER.encode():
                claims.delete(_REDIS_CLAIM)
        except redis.RedisError:  # the claim expires by itself
            pass
        finally:
            claims.close()
