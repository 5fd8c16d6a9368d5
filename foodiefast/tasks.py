"""Kernel tasks: event delivery through the outbox, its relay and purge; enqueueing
work after commit without letting the broker fail the request."""

from __future__ import annotations

import functools
import logging
from typing import Any

from celery import Task, shared_task
from django.db import transaction
from kombu.exceptions import OperationalError

from foodiefast import events, mail, outbox

logger = logging.getLogger("foodiefast.tasks")


def delay_after_commit(task: Task, *args: Any) -> None:
    """``task.delay(*args)`` once the current transaction commits, for work that a
    sweep also finds (the payments reconcile, ...): a broker that cannot take it is
    logged and never raised into the request that already committed. Work that must
    not be lost goes through the outbox (an event) instead."""
    transaction.on_commit(functools.partial(_delay_or_log, task, args))


def _delay_or_log(task: Task, args: tuple) -> None:
    try:
        task.delay(*args)
    except OperationalError as exc:
        logger.warning("the broker did not take %s%r (%s); a sweep will find the work", task.name, args, exc)


@shared_task
def deliver_event_task(message_id: int) -> str:
    """Run one outbox message's handler (see :func:`foodiefast.outbox.outbox_deliver`).
    Idempotent: a delivered message is skipped. A failing handler is not retried by
    Celery: its row goes back to the outbox, which the relay sends again later."""
    return outbox.outbox_deliver(message_id=message_id)


@shared_task
def outbox_relay_task() -> int:
    """Beat, every few seconds: send what the broker could not take after commit, and
    resend what it lost. Rows are locked with SKIP LOCKED: runs never overlap on one."""
    return outbox.outbox_relay()


@shared_task
def outbox_purge_task() -> int:
    """Beat, hourly: delete delivered messages older than ``OUTBOX_RETENTION_DAYS``."""
    return outbox.outbox_purge()


@shared_task
def photo_uploads_purge_task() -> int:
    """Beat, hourly: forget photo uploads nobody can use any more, deleting the
    originals that were sent but never given to a kitchen or a dish."""
    from foodiefast.photos import photo_uploads_purge  # photos queues its work through this module

    return photo_uploads_purge()


@shared_task(bind=True, max_retries=None)
def notify_mail_task(self, message_id: int) -> str:
    """Send one owed email (:func:`foodiefast.mail.mail_deliver`), on the
    ``notifications`` queue. Idempotent: a sent message is not sent again. When the
    mail server is down or frozen the task retries itself after the message's pause
    while that pause is short; longer pauses, and anything the broker loses, are the
    relay's (:func:`notify_mail_relay_task`)."""
    delivery = mail.mail_deliver(message_id=message_id)
    if delivery.retry_in is not None and delivery.retry_in <= mail.TASK_RETRY_MAX_SECONDS and not self.request.is_eager:
        raise self.retry(countdown=delivery.retry_in)
    return delivery.outcome.value


@shared_task
def notify_mail_relay_task() -> int:
    """Beat, every ``MAIL_RELAY_SECONDS``: send the owed mail that is due and that no
    task is carrying (after a long pause, or lost by the broker)."""
    return mail.mail_relay()


@shared_task
def notify_mail_purge_task() -> int:
    """Beat, hourly: forget sent mail older than ``MAIL_RETENTION_DAYS``."""
    return mail.mail_purge()


@shared_task(bind=True, autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=240, max_retries=8)
def dispatch_event_task(self, handler_path: str, type_name: str, payload: dict[str, Any]) -> None:
    """The delivery task of releases before the outbox: kept so that tasks they queued
    still run while a deploy swaps processes. Nothing sends it any more; remove it in
    the release after the outbox one."""
    events.handle(handler_path=handler_path, event_type=type_name, payload=payload)
