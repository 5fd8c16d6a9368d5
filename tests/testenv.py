"""The test environment, set before Django's settings load (loaded with ``-p``).

Tests run with production settings (debug off) against real PostgreSQL and Redis;
anything already in the environment wins, so a run can pick its own database and
Redis db. By default two checkouts on one machine share nothing: the database name
derives from the checkout's path, each run claims Redis dbs no other checkout's run
holds, and the static files collected for the run are removed when it ends.
"""

import hashlib
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


def _claim_redis_pair() -> tuple[int, str | None]:
    """(the first db of the pair this run uses, the key of its claim or None)."""
    first = int(CHECKOUT_ID, 16) % REDIS_PAIRS
    if "REDIS_URL" in os.environ and "E2E_REDIS_URL" in os.environ:
        return 2 + 2 * first, None
    claims = _claims()
    try:
        for step in range(REDIS_PAIRS):
            pair = 2 + 2 * ((first + step) % REDIS_PAIRS)
            key = f"foodiefast:test-run:redis-pair:{pair}"
            if claims.set(key, str(CHECKOUT), nx=True, ex=CLAIM_SECONDS) or claims.get(key) == str(CHECKOUT).encode():
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
    os.environ.setdefault(name, value)

# Static files are collected once per run (tests/conftest.py), as the build does, into
# a folder of this run that is removed when the run ends.
_OWN_STATIC_ROOT = None
if "DJANGO_STATIC_ROOT" not in os.environ:
    _OWN_STATIC_ROOT = tempfile.mkdtemp(prefix=f"foodiefast-static-{CHECKOUT_ID}-")
    os.environ["DJANGO_STATIC_ROOT"] = _OWN_STATIC_ROOT


# Photos written with no bucket configured go to a folder of this run too.
_OWN_MEDIA_ROOT = None
if "DJANGO_MEDIA_ROOT" not in os.environ:
    _OWN_MEDIA_ROOT = tempfile.mkdtemp(prefix=f"foodiefast-media-{CHECKOUT_ID}-")
    os.environ["DJANGO_MEDIA_ROOT"] = _OWN_MEDIA_ROOT


def pytest_unconfigure(config):
    for folder in (_OWN_STATIC_ROOT, _OWN_MEDIA_ROOT):
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    if _REDIS_CLAIM:
        claims = _claims()
        try:
            if claims.get(_REDIS_CLAIM) == str(CHECKOUT).encode():
                claims.delete(_REDIS_CLAIM)
        except redis.RedisError:  # the claim expires by itself
            pass
        finally:
            claims.close()
