"""Fixtures every test folder shares: HTTP clients, users, a clean cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from celery import current_app
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories.accounts import UserFactory


class Client(APIClient):
    """The mobile app's view of the API: HTTPS behind the router, JSON."""

    def __init__(self, **defaults):
        defaults.setdefault("HTTP_X_FORWARDED_PROTO", "https")
        super().__init__(**defaults)

    def as_user(self, user) -> Client:
        token = RefreshToken.for_user(user).access_token
        self.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return self


@pytest.fixture
def api() -> Client:
    return Client()


@pytest.fixture
def make_client():
    """``make_client(user)``: a client signed in as ``user`` (or anonymous)."""

    def make(user=None) -> Client:
        client = Client()
        return client.as_user(user) if user is not None else client

    return make


@pytest.fixture
def customer(db):
    return UserFactory()


@pytest.fixture
def chef_user(db):
    return UserFactory(chef=True)


@pytest.fixture
def courier_user(db):
    return UserFactory(courier=True)


@pytest.fixture(scope="session", autouse=True)
def _collected_static(django_db_blocker):
    """Production serves hashed static files that the build collected: so do tests."""
    from django.conf import settings
    from django.core.management import call_command

    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        call_command("collectstatic", "--noinput", verbosity=0)
    yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hashing strength is not under test; a million PBKDF2 rounds per login would be."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _eager_tasks(request):
    """Unit tests run Celery tasks in-process; end-to-end tests use a real worker."""
    if request.node.get_closest_marker("e2e"):
        yield
        return
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = previous
