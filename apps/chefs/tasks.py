"""Celery tasks of chefs: thin and idempotent."""

from __future__ import annotations

from celery import shared_task

from apps.chefs.models import Kitchen
from apps.chefs.services import kitchen_photo_process
from foodiefast.photos import photo_requeue_stalled


@shared_task
def kitchen_photo_process_task(kitchen_id: str, upload_id: str) -> str:
    """Check, strip and resize a kitchen's uploaded photo, then publish or reject it
    (queue ``media``). Idempotent: a photo already handled is left alone."""
    return kitchen_photo_process(kitchen_id=kitchen_id, upload_id=upload_id)


@shared_task
def kitchen_photo_sweep_task() -> int:
    """Beat: queue again the photos of kitchens still processing minutes later (a task
    the broker could not take or lost)."""
    return photo_requeue_stalled(model=Kitchen, task=kitchen_photo_process_task)
