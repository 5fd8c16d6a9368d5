"""The orders' figures on ``/metrics``, read when scraped (``METRICS_COLLECTORS``)."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily

from apps.orders.selectors import order_count_by_status


def order_families() -> list[GaugeMetricFamily]:
    family = GaugeMetricFamily("foodiefast_orders", "Orders in each open status now.", labels=["status"])
    for status, count in order_count_by_status().items():
        family.add_metric([str(status)], count)
    return [family]
