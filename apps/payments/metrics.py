"""The payments' figures on ``/metrics``, read when scraped (``METRICS_COLLECTORS``)."""

from __future__ import annotations

from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from apps.payments.selectors import payment_failure_counts, stripe_webhook_lag


def payment_failure_families() -> list[CounterMetricFamily]:
    family = CounterMetricFamily(
        "foodiefast_payment_failures", "Payment attempts declined, by failure code.", labels=["code"]
    )
    for code, count in sorted(payment_failure_counts().items()):
        family.add_metric([code], count)
    return [family]


def webhook_lag_families() -> list[GaugeMetricFamily]:
    lag = stripe_webhook_lag(now=timezone.now())
    return [
        GaugeMetricFamily(
            "foodiefast_webhook_processing_lag_seconds",
            "Longest wait from a Stripe event's creation to its processing, among the latest received.",
            value=lag.processed_seconds,
        ),
        GaugeMetricFamily(
            "foodiefast_webhook_oldest_unprocessed_seconds",
            "How long the oldest unprocessed Stripe event (among the latest received) has waited.",
            value=lag.oldest_waiting_seconds,
        ),
    ]
