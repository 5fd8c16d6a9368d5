"""The test environment, set before Django's settings load (loaded with ``-p``).

Tests run with production settings (debug off) against real PostgreSQL and Redis;
anything already in the environment wins, so a parallel run can pick its own
database and Redis db.
"""

import os
import tempfile

TEST_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "test-secret-key-that-is-long-enough-for-hmac-sha256-signing-0123456789",
    "DJANGO_ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/foodiefast",
    "REDIS_URL": "redis://127.0.0.1:6379/1",
    "STRIPE_SECRET_KEY": "sk_test_foodiefast",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_foodiefast",
    "STRIPE_WEBHOOK_SECRET": "whsec_test_foodiefast",
    "DJANGO_LOG_LEVEL": "WARNING",
    "RELEASE_VERSION": "test",
}

for name, value in TEST_ENV.items():
    os.environ.setdefault(name, value)

# Static files are collected once per run (tests/conftest.py), as the build does.
os.environ.setdefault("DJANGO_STATIC_ROOT", tempfile.mkdtemp(prefix="foodiefast-static-"))
