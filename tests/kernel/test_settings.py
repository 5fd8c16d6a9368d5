"""Production settings refuse to start half-configured; debug runs embedded."""

import pytest

from tests.processes import run_python

LOAD_SETTINGS = "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup()"


REQUIRED = (
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_WEBHOOK_SECRET",
)


@pytest.mark.parametrize("missing", REQUIRED)
def test_debug_off_refuses_to_start_without_a_required_variable(missing):
    result = run_python(LOAD_SETTINGS, DJANGO_DEBUG="false", PAYMENTS_DEMO=None, **{missing: None})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{missing} is not set" in result.stderr


def test_debug_defaults_to_off():
    result = run_python(LOAD_SETTINGS, DJANGO_DEBUG=None, DJANGO_SECRET_KEY=None)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_demo_payments_only_when_asked_for():
    code = LOAD_SETTINGS + "; from django.conf import settings; print(settings.PAYMENTS_DEMO)"
    demo = run_python(code, DJANGO_DEBUG="false", PAYMENTS_DEMO="1", STRIPE_SECRET_KEY=None)
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.strip() == "True"


def test_debug_with_nothing_set_runs_on_embedded_defaults():
    code = LOAD_SETTINGS + (
        "; from django.conf import settings; from celery import current_app;"
        "print(settings.DATABASES['default']['ENGINE'], settings.CACHES['default']['BACKEND'],"
        " current_app.conf.task_always_eager, settings.PAYMENTS_DEMO)"
    )
    result = run_python(
        code,
        DJANGO_DEBUG="true",
        **dict.fromkeys((*REQUIRED, "CELERY_BROKER_URL")),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
        "True",
    ]


def test_the_broker_is_never_guessed():
    """RabbitMQ listens on Celery's default address here: with REDIS_URL set, Redis is the broker."""
    code = LOAD_SETTINGS + "; from celery import current_app; print(current_app.conf.broker_url)"
    result = run_python(code, CELERY_BROKER_URL=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("redis://")
