"""Celery tasks of menus: thin and idempotent."""

from __future__ import annotations

from celery import shared_task

from apps.menus.services import dish_stock_reset_daily


@shared_task
def dish_stock_reset_daily_task() -> int:
    """Beat: reset daily stock once the local (Europe/Paris) day has changed.

    Scheduled every few minutes in UTC rather than at one local midnight: it is
    idempotent per local date (only rows of an earlier day change), so DST changes,
    a missed beat or a late worker cannot skip or double a reset."""
    return dish_stock_reset_daily()
