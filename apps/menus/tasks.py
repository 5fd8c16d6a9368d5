"""Celery tasks of menus: thin and idempotent."""

from __future__ import annotations

from celery import shared_task

from apps.menus.models import Dish
from apps.menus.services import dish_photo_process, dish_stock_reset_daily
from foodiefast.photos import photo_requeue_stalled


@shared_task
def dish_stock_reset_daily_task() -> int:
    """Beat: reset daily stock once the local (Europe/Paris) day has changed.

    Scheduled every few minutes in UTC rather than at one local midnight: it is
    idempotent per local date (only rows of an earlier day change), so DST changes,
    a missed beat or a late worker cannot skip or double a reset."""
    return dish_stock_reset_daily()


@shared_task
def dish_photo_process_task(dish_id: str, upload_id: str) -> str:
    """Check, strip and resize a dish's uploaded photo, then publish or reject it
    (queue ``media``). Idempotent: a photo already handled is left alone."""
    return dish_photo_process(dish_id=dish_id, upload_id=upload_id)


@shared_task
def dish_photo_sweep_task() -> int:
    """Beat: queue again the photos of dishes still processing minutes later (a task
    the broker could not take or lost)."""
    return photo_requeue_stalled(model=Dish, task=dish_photo_process_task)
