"""Celery tasks of tracking (the ``orders`` queue): thin, idempotent."""

from __future__ import annotations

from celery import shared_task

from apps.tracking import services


@shared_task
def deliveries_alert_unclaimed_task() -> int:
    """Beat, every 30 s: alert staff (once) about deliveries ready and unclaimed for
    ``UNCLAIMED_ALERT_MINUTES``. Safe to run twice at once (SKIP LOCKED, re-checked)."""
    return services.deliveries_alert_unclaimed()


@shared_task
def trail_purge_task() -> int:
    """Beat, hourly: delete trail points older than ``LOCATION_RETENTION_DAYS``."""
    return services.trail_purge()
