"""Declined payment attempts on /metrics: counted where payments records the failure
(web or worker), in Redis, read when scraped."""

from __future__ import annotations

import pytest
import stripe

from apps.payments import services
from foodiefast import metrics
from tests.payments.conftest import new_reference
from tests.prometheus import sample

pytestmark = pytest.mark.django_db


def declined(stripe_double, capture) -> None:
    checkout = services.payment_start(reference=new_reference(), amount_cents=2500, currency="EUR")
    with pytest.raises(stripe.CardError):
        stripe_double.pay(checkout.payment_intent_id, card="pm_card_chargeCustomerFail")
    with capture(execute=True):
        services.payment_sync_from_provider(payment_id=checkout.payment_id)
    with capture(execute=True):  # the same news again: no new failure
        services.payment_sync_from_provider(payment_id=checkout.payment_id)


def test_each_declined_attempt_counts_once_by_failure_code(stripe_double, django_capture_on_commit_callbacks):
    name = "foodiefast_payment_failures_total"
    before = sample(metrics.exposition().decode(), name, code="card_declined")

    declined(stripe_double, django_capture_on_commit_callbacks)
    declined(stripe_double, django_capture_on_commit_callbacks)

    text = metrics.exposition().decode()
    assert sample(text, name, code="card_declined") - before == 2
    assert sample(text, "foodiefast_metrics_collector_up", collector="payment_failure_families") == 1
