"""The test environment, set before Django's settings load (loaded with ``-p``).

Tests run with production settings (debug off) against real PostgreSQL and Redis;
anything already in the environment wins, so a run can pick its own database and
Redis db. By default two checkouts on one machine share nothing: the database name
and the Redis dbs derive from the checkout's path, and the static files collected
for the run are removed when it ends.
"""

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
CHECKOUT_ID = hashlib.sha256(str(CHECKOUT).encode()).hexdigest()[:8]

# Redis has 16 dbs: 0 is `make run`'s, 1 the old shared test db; each checkout takes
# one of seven pairs from 2-3 to 14-15 (the suite's, then the end-to-end processes').
_REDIS_PAIR = 2 + 2 * (int(CHECKOUT_ID, 16) % 7)

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


def pytest_unconfigure(config):
    if _OWN_STATIC_ROOT:
        shutil.rmtree(_OWN_STATIC_ROOT, ignore_errors=True)
