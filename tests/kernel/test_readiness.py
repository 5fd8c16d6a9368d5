"""Readiness with a backing service gone, checked in a separate process whose variables
point at it (a closed port, an empty database)."""

import json
import uuid

import psycopg
import pytest

from tests.processes import closed_port, run_python

PROBE = (
    "import django, json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup();"
    "from django.test import Client; r = Client().get('/health/ready');"
    "print(json.dumps({'status_code': r.status_code, 'body': r.json()}))"
)


def probe(**env):
    result = run_python(PROBE, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def migrated_database_url(db):
    """The test database pytest-django migrated, as a URL for another process."""
    from django.db import connection

    return f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}"


def test_degraded_not_down_when_redis_is_unreachable(migrated_database_url):
    answer = probe(DATABASE_URL=migrated_database_url, REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0")

    assert answer["status_code"] == 200
    assert answer["body"] == {"status": "degraded", "checks": {"database": "ok", "cache": "down", "broker": "down"}}


def test_down_when_the_database_is_unreachable():
    answer = probe(DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port()}/foodiefast")

    assert answer["status_code"] == 503
    assert answer["body"]["status"] == "down"
    assert answer["body"]["checks"]["database"] == "down"


@pytest.fixture
def empty_database():
    name = f"ff_empty_{uuid.uuid4().hex[:8]}"
    admin = "postgres://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_down_while_migrations_are_not_applied(empty_database):
    answer = probe(DATABASE_URL=empty_database)

    assert answer["status_code"] == 503
    assert answer["body"]["status"] == "down"
    assert answer["body"]["checks"]["database"] == "migrations_pending"
