"""Webhooks over real HTTP and real concurrency: localstripe's own deliveries to the
live test server, duplicates racing each other, and an answer that never waits for
processing. These tests commit for real (``transaction=True``)."""

from __future__ import annotations

import io
import json
import logging
import re
import threading

import pytest
from celery import current_app
from celery.contrib.testing.worker import start_worker
from django.core import serializers
from django.db import connection

from apps.payments import services
from apps.payments.gateways import stripe as stripe_gateway
from apps.payments.gateways.base import GatewayUnavailable
from apps.payments.models import Payment, PaymentStatus, PaymentTransition, Refund, StripeEvent
from foodiefast.logging import JsonFormatter
from tests.conftest import Client
from tests.payments.conftest import deliver, intent_event, kinds, new_reference
from tests.processes import wait_for, worker_queues

pytestmark = pytest.mark.django_db(transaction=True)


def _processed(event_type: str, intent_id: str) -> bool:
    # By intent: a late delivery left over from an earlier test may arrive too.
    return StripeEvent.objects.filter(type=event_type, intent_id=intent_id, processed_at__isnull=False).exists()


def _delivery_report(answered: list[int]) -> str:
    """What arrived, for a webhook that did not show up in time."""
    events = StripeEvent.objects.order_by("received_at").values_list(
        "type", "intent_id", "processed_at", "outcome", "attempts", "error"
    )
    return f"our answers to localstripe: {answered}; events stored: {list(events)}"


def test_localstripe_webhooks_mark_a_decline_and_a_capture(
    localstripe_webhooks, stripe_double, announced, django_capture_on_commit_callbacks
):
    declined = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")
    paid = services.payment_start(reference=new_reference(), amount_cents=1800, currency="EUR")

    # A declined card: localstripe sends payment_intent.payment_failed about 1 s later.
    with pytest.raises(Exception, match="declined"):
        stripe_double.pay(declined.payment_intent_id, card="pm_card_chargeCustomerFail")
    assert wait_for(lambda: _processed("payment_intent.payment_failed", declined.payment_intent_id)), _delivery_report(
        localstripe_webhooks
    )

    # localstripe sends nothing on authorization: the test plays Stripe's part.
    stripe_double.pay(paid.payment_intent_id)
    assert (
        deliver(
            Client(), intent_event(stripe_double, "payment_intent.amount_capturable_updated", paid.payment_intent_id)
        ).status_code
        == 200
    )
    services.payment_capture(reference=paid.reference)
    # ...then localstripe sends payment_intent.succeeded for the capture we recorded already.
    assert wait_for(lambda: _processed("payment_intent.succeeded", paid.payment_intent_id)), _delivery_report(
        localstripe_webhooks
    )

    failed = Payment.objects.get(pk=declined.payment_id)
    assert (failed.status, failed.is_payable, failed.failure_code) == (PaymentStatus.FAILED, True, "card_declined")
    assert Payment.objects.get(pk=paid.payment_id).status == PaymentStatus.CAPTURED
    assert set(localstripe_webhooks) == {200}
    assert sorted(kinds(announced)) == ["PaymentAuthorized", "PaymentCaptured", "PaymentFailed"]


@pytest.mark.parametrize("same_event_id", [True, False], ids=["one-event-5-deliveries", "5-events-same-news"])
def test_concurrent_deliveries_change_the_state_once(stripe_double, announced, same_event_id):
    checkout = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")
    stripe_double.pay(checkout.payment_intent_id)
    one = intent_event(stripe_double, "payment_intent.amount_capturable_updated", checkout.payment_intent_id)
    payloads = [
        one if same_event_id else {**one, "id": f"{one['id']}_{n}"}  # Stripe may send the news in several events
        for n in range(5)
    ]
    start = threading.Barrier(5)
    statuses: list[int] = []

    def post(payload):
        try:
            start.wait(timeout=10)
            statuses.append(deliver(Client(), payload).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert statuses == [200] * 5
    assert StripeEvent.objects.count() == (1 if same_event_id else 5)
    assert Payment.objects.get(pk=checkout.payment_id).status == PaymentStatus.AUTHORIZED
    assert PaymentTransition.objects.filter(payment_id=checkout.payment_id).count() == 1
    assert kinds(announced) == ["PaymentAuthorized"]


def test_the_answer_does_not_wait_for_processing(stripe_double, monkeypatch):
    # A real Celery worker (in a thread, on the test Redis) processes the event; the
    # processing is held until the answer has come back.
    checkout = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")
    stripe_double.pay(checkout.payment_intent_id)
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    process = services.stripe_event_process

    def slow_process(**kwargs):
        started.set()
        release.wait(timeout=15)
        try:
            return process(**kwargs)
        finally:
            finished.set()
            connection.close()

    monkeypatch.setattr(services, "stripe_event_process", slow_process)
    current_app.conf.task_always_eager = False  # restored by the autouse _eager_tasks fixture
    current_app.control.purge()  # nothing left over in this test run's Redis db
    payload = intent_event(stripe_double, "payment_intent.amount_capturable_updated", checkout.payment_intent_id)

    with start_worker(
        current_app,
        pool="solo",
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=10,
        queues=worker_queues(),
    ):
        response = deliver(Client(), payload)
        answered_before_processing_ended = not finished.is_set()
        release.set()
        assert wait_for(finished.is_set)

    assert response.status_code == 200
    assert answered_before_processing_ended
    assert started.is_set()
    assert Payment.objects.get(pk=checkout.payment_id).status == PaymentStatus.AUTHORIZED


def _luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# 13-19 digits, optionally grouped by spaces or dashes. Card numbers never start with 0
# and stand alone: never after a decimal point (Celery logs task durations like
# 0.0257264790000135 s), never inside a longer token such as a UUID or a hex id.
CARD_LIKE = re.compile(r"(?<![\w.-])[1-9](?:[ -]?\d){12,18}(?![\w-])")


def card_numbers_in(text: str) -> list[str]:
    found = []
    for match in CARD_LIKE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and _luhn_valid(digits):
            found.append(match.group())
    return found


def test_the_card_pattern_check_finds_card_numbers():
    assert card_numbers_in("paid with 4242 4242 4242 4242 today") == ["4242 4242 4242 4242"]
    assert card_numbers_in("4000-0000-0000-0002") == ["4000-0000-0000-0002"]
    assert card_numbers_in("created 1795423528, amount 2500, took 0.02572647900001357 s") == []
    # Digit runs inside ids are not card numbers (this one passes the checksum).
    assert card_numbers_in("req c20718-2578-4112-89af") == []
    assert card_numbers_in('"id": "pi_20718-2578-4112-89"') == []


def test_no_card_number_or_client_secret_reaches_logs_or_the_database(localstripe_webhooks, stripe_double):
    # Every flow of the app, with every logger at DEBUG through the JSON formatter.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        declined = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")
        with pytest.raises(Exception, match="declined"):
            stripe_double.pay(declined.payment_intent_id, card="pm_card_chargeCustomerFail")
        paid = services.payment_start(reference=new_reference(), amount_cents=4200, currency="EUR")
        stripe_double.pay(paid.payment_intent_id)
        deliver(
            Client(), intent_event(stripe_double, "payment_intent.amount_capturable_updated", paid.payment_intent_id)
        )
        services.payment_capture(reference=paid.reference)
        services.payment_refund(reference=paid.reference, amount_cents=1000)
        services.payment_refund(reference=paid.reference)
        assert wait_for(
            lambda: (
                _processed("payment_intent.payment_failed", declined.payment_intent_id)
                and _processed("payment_intent.succeeded", paid.payment_intent_id)
            )
        ), _delivery_report(localstripe_webhooks)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)

    logs = stream.getvalue()
    rows = serializers.serialize(
        "json",
        [
            *Payment.objects.all(),
            *Refund.objects.all(),
            *PaymentTransition.objects.all(),
            *StripeEvent.objects.all(),
        ],
    )
    assert "payment_intent" in logs or "payment" in logs  # the logs were captured
    assert StripeEvent.objects.count() >= 3
    assert card_numbers_in(logs) == []
    assert card_numbers_in(rows) == []
    assert card_numbers_in(json.dumps([e.payload for e in StripeEvent.objects.all()])) == []
    for checkout in (declined, paid):
        assert checkout.client_secret not in logs
        assert json.dumps([e.payload for e in StripeEvent.objects.all()]).count(checkout.client_secret) == 0


def test_concurrent_starts_for_one_reference_share_one_payment(stripe_double):
    reference = new_reference()
    start = threading.Barrier(2)
    checkouts = []

    def begin():
        try:
            start.wait(timeout=10)
            checkouts.append(services.payment_start(reference=reference, amount_cents=2500, currency="EUR"))
        finally:
            connection.close()

    threads = [threading.Thread(target=begin) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert len(checkouts) == 2
    assert checkouts[0].payment_intent_id == checkouts[1].payment_intent_id
    assert checkouts[0].client_secret == checkouts[1].client_secret
    assert Payment.objects.filter(reference=reference).count() == 1


def test_a_processing_failure_is_retried_with_backoff_by_the_worker(stripe_double, monkeypatch):
    # Stripe is unreachable for the first processing attempt (an outage localstripe
    # cannot show: simulated at the gateway boundary); the worker retries it later.
    checkout = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")
    stripe_double.pay(checkout.payment_intent_id)
    retrieve = stripe_gateway.StripeGateway.retrieve_intent
    calls = []

    def flaky(self, intent_id):
        calls.append(intent_id)
        if len(calls) == 1:
            raise GatewayUnavailable("APIConnectionError")
        return retrieve(self, intent_id)

    monkeypatch.setattr(stripe_gateway.StripeGateway, "retrieve_intent", flaky)
    current_app.conf.task_always_eager = False  # restored by the autouse _eager_tasks fixture
    current_app.control.purge()  # nothing left over in this test run's Redis db
    payload = intent_event(stripe_double, "payment_intent.amount_capturable_updated", checkout.payment_intent_id)

    with start_worker(current_app, pool="solo", perform_ping_check=False, loglevel="ERROR", shutdown_timeout=10):
        assert deliver(Client(), payload).status_code == 200
        assert wait_for(
            lambda: StripeEvent.objects.filter(stripe_id=payload["id"], attempts=1).exclude(error="").exists()
        )
        assert Payment.objects.get(pk=checkout.payment_id).status == PaymentStatus.REQUIRES_PAYMENT
        processed = wait_for(
            lambda: StripeEvent.objects.filter(stripe_id=payload["id"], processed_at__isnull=False).first(), timeout=20
        )

    assert processed is not None
    assert (processed.attempts, processed.error) == (2, "")
    assert Payment.objects.get(pk=checkout.payment_id).status == PaymentStatus.AUTHORIZED
