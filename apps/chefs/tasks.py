"""Celery tasks of chefs: thin and idempotent."""

from __future__ import annotations

from celery import shared_task

from apps.chefs.services import kitchen_photo_process


@shared_task
def kitchen_photo_process_task(kitchen_id: str, upload_id: str) -> str:
    """Check, strip and resize a kitchen's uploaded photo, then publish or reject it
    (queue ``media``). Idempotent: a photo already handled is left alone."""
    return kitchen_photo_process(kitchen_id=kitchen_id, upload_id=upload_id)
