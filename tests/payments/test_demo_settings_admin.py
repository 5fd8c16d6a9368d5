"""The demo gateway, the start-up refusal, the admin and the OpenAPI description."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from apps.payments import services
from apps.payments.models import Payment, PaymentStatus
from apps.payments.selectors import payment_checkout, payment_get
from tests.factories.accounts import UserFactory
from tests.payments.conftest import kinds, new_reference

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo(settings):
    settings.PAYMENTS_DEMO = True
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # offline: any Stripe call would fail


def test_the_demo_gateway_authorizes_at_once_and_takes_the_same_path(
    demo, announced, django_capture_on_commit_callbacks
):
    reference = new_reference()
    with django_capture_on_commit_callbacks(execute=True):
        checkout = services.payment_start(reference=reference, amount_cents=2500, currency="EUR")
        assert services.payment_start(reference=reference, amount_cents=2500, currency="EUR") == checkout
        services.payment_capture(reference=reference)
        services.payment_refund(reference=reference, amount_cents=500)

    assert checkout.provider == "stripe"  # the app's SDK contract; the row says demo
    assert checkout.payment_intent_id.startswith("pi_demo_")
    payment = Payment.objects.get(reference=reference)
    assert (payment.provider, payment.status, payment.refunded_cents) == ("demo", PaymentStatus.CAPTURED, 500)
    assert kinds(announced) == ["PaymentAuthorized", "PaymentCaptured", "PaymentRefunded"]


def test_the_demo_gateway_voids_and_syncs_offline(demo, announced, django_capture_on_commit_callbacks):
    reference = new_reference()
    with django_capture_on_commit_callbacks(execute=True):
        checkout = services.payment_start(reference=reference, amount_cents=900, currency="EUR")
        assert services.payment_sync_from_provider(payment_id=checkout.payment_id).status == PaymentStatus.AUTHORIZED
        services.payment_cancel(reference=reference)

    assert payment_checkout(payment_get(reference=reference)).status == PaymentStatus.CANCELED
    assert kinds(announced) == ["PaymentAuthorized", "PaymentCanceled"]


def _start_django(env_overrides: dict[str, str], drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PYTEST")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_start_up_stops_without_a_stripe_key_when_debug_is_off():
    result = _start_django({"DJANGO_DEBUG": "false", "PAYMENTS_DEMO": "false"}, drop=("STRIPE_SECRET_KEY",))

    assert result.returncode != 0
    assert "STRIPE_SECRET_KEY is not set" in result.stderr


def test_start_up_uses_the_demo_gateway_only_on_purpose():
    result = _start_django({"DJANGO_DEBUG": "false", "PAYMENTS_DEMO": "1"}, drop=("STRIPE_SECRET_KEY",))

    assert result.returncode == 0, result.stderr


def test_the_schema_describes_the_webhook(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/json")

    operation = response.json()["paths"]["/api/v1/payments/stripe/webhook"]["post"]
    assert {"200", "400"} <= set(operation["responses"])
    assert any(p["name"] == "Stripe-Signature" and p["in"] == "header" for p in operation["parameters"])


@pytest.fixture
def plain_static(settings):
    """Admin pages render without a collectstatic manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.mark.usefixtures("plain_static")
def test_staff_see_a_payment_with_its_trail_and_can_refund_it(client, stripe_double):
    checkout = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")
    stripe_double.pay(checkout.payment_intent_id)
    services.payment_sync_from_provider(payment_id=checkout.payment_id)
    services.payment_capture(reference=checkout.reference)
    client.force_login(UserFactory(staff=True))
    change_url = reverse("admin:payments_payment_change", args=[checkout.payment_id])

    page = client.get(change_url, secure=True)
    refund = client.post(
        reverse("admin:payments_payment_changelist"),
        {"action": "refund_what_is_left", "_selected_action": [checkout.payment_id]},
        secure=True,
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert checkout.reference in html and "authorized" in html and "captured" in html
    assert 'name="amount_cents"' not in html  # money is read-only
    assert refund.status_code == 302
    assert Payment.objects.get(pk=checkout.payment_id).refunded_cents == 2500
    assert stripe_double.count("refunds") == 1


def test_customers_do_not_reach_the_payments_admin(client, customer):
    client.force_login(customer)

    response = client.get(reverse("admin:payments_payment_changelist"), secure=True)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_reconcile_runs_every_minute():
    from config.celery import app

    app.loader.import_default_modules()  # what a worker does at start: autodiscover the tasks
    entry = app.conf.beat_schedule["payments-reconcile"]
    assert entry["task"] == "apps.payments.tasks.payments_reconcile_task"
    assert entry["schedule"] == 60.0
    assert entry["task"] in app.tasks
