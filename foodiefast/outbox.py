"""The transactional outbox behind :func:`foodiefast.events.publish`.

Life of a message (:class:`~foodiefast.models.OutboxMessage`, one per event and
subscribed handler, fanned out when the event is published):

1. recorded in the publisher's transaction (:func:`outbox_record`), already marked
   relayed: the publishing process owns it, and the periodic relay leaves it alone;
2. relayed after commit by the publishing process (``deliver_event_task(id)`` for each
   new row, with no database round trip when the broker takes them; the rows the
   broker refused are unmarked for the periodic relay, in one statement) and, for
   whatever the broker could not take then, by the periodic relay in beat: there the
   row is marked relayed in the same transaction that publishes the task, which
   commits only once the broker accepted it (rows are locked ``FOR UPDATE SKIP
   LOCKED``, so two relays never send the same row; a relay that dies after the
   broker accepted leaves the row to be sent again). A publisher that dies between
   its commit and the broker leaves its rows marked: they are sent again as lost
   ones (below);
3. delivered by :func:`outbox_deliver`: the row is locked, skipped if already
   delivered, and the handler runs in the same transaction that marks it delivered, so
   a redelivered task does nothing. A handler that fails is rolled back, counted, and
   its row put back for the relay after a growing pause;
4. purged by beat ``OUTBOX_RETENTION_DAYS`` after delivery.

A task the broker accepted but lost (Redis restarted without persistence, a release
whose workers do not know the task yet) is sent again once its row has been relayed
for ``OUTBOX_REDELIVER_AFTER_SECONDS`` without being delivered.

Publishing to the broker is bounded by the broker's socket timeouts and no publish
retry: a stopped or frozen Redis costs the publishing request at most about half a
second, and the request's answer never depends on it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from foodiefast.models import OutboxMessage
from foodiefast.rows import insert

logger = logging.getLogger("foodiefast.events")

RELAY_BATCH = 100
# The periodic relay stops after this many batches; the next run goes on.
RELAY_MAX_BATCHES = 50
MAX_RETRY_DELAY_SECONDS = 3600
PURGE_BATCH = 5000


def outbox_record(*, event_type: str, payload: dict[str, Any], handlers: Iterable[str]) -> list[int]:
    """Write one message per handler in the current transaction (autocommitted outside
    one), marked relayed, and send them after commit; their ids. The send never raises
    into the publisher: what the broker refuses is left to the periodic relay."""
    now = timezone.now()
    messages = [
        OutboxMessage(event_type=event_type, handler=handler, payload=payload, relayed_at=now) for handler in handlers
    ]
    insert(*messages)  # plain SQL (foodiefast.rows): what bulk_create() would write
    ids = [message.pk for message in messages]
    if ids:
        transaction.on_commit(functools.partial(_send_recorded, ids), robust=True)
    return ids


def _send_recorded(ids: list[int]) -> int:
    """After the publisher's commit: send its messages (marked relayed when written);
    those the broker did not take are unmarked for the periodic relay. How many it took."""
    for position, message_id in enumerate(ids):
        try:
            _send(message_id)
        except Exception as exc:
            OutboxMessage.objects.filter(pk__in=ids[position:], delivered_at__isnull=True).update(relayed_at=None)
            logger.warning(
                "outbox: the broker did not take message %s (%s: %s); %d left for the periodic relay",
                message_id,
                type(exc).__name__,
                exc,
                len(ids) - position,
            )
            return position
    return len(ids)


def _due(now) -> QuerySet[OutboxMessage]:
    """What the periodic relay sends: never relayed and due, or relayed long ago and
    still not delivered (the broker lost it)."""
    lost_before = now - timedelta(seconds=settings.OUTBOX_REDELIVER_AFTER_SECONDS)
    return OutboxMessage.objects.filter(delivered_at__isnull=True).filter(
        Q(relayed_at__isnull=True, available_at__lte=now) | Q(relayed_at__lt=lost_before)
    )


def _send(message_id: int) -> None:
    from foodiefast.tasks import deliver_event_task

    # No publish retry: the outbox is the retry, and a frozen broker must cost one
    # socket timeout, not several.
    deliver_event_task.apply_async(args=[message_id], retry_policy={"max_retries": 0})


def _relay_batch() -> tuple[int, bool]:
    """Send one batch of due messages, oldest first; ``(sent, broker_failed)``."""
    now = timezone.now()
    with transaction.atomic():
        batch = list(
            _due(now).select_for_update(skip_locked=True).order_by("pk").values_list("pk", flat=True)[:RELAY_BATCH]
        )
        # Marked first, in this transaction: the mark commits only with what the
        # broker accepted (a task delivered eagerly may already have moved its row on).
        OutboxMessage.objects.filter(pk__in=batch).update(relayed_at=now)
        for position, message_id in enumerate(batch):
            try:
                _send(message_id)
            except Exception as exc:
                OutboxMessage.objects.filter(pk__in=batch[position:]).update(relayed_at=None)
                logger.warning(
                    "outbox: the broker did not take message %s (%s: %s); %d left for the periodic relay",
                    message_id,
                    type(exc).__name__,
                    exc,
                    len(batch) - position,
                )
                return position, True
    return len(batch), False


def outbox_relay() -> int:
    """The periodic relay: send every due message to the broker, oldest first, in
    batches, until the broker refuses one; how many it accepted. Rows another relay
    holds are skipped, never sent twice."""
    total = 0
    for _ in range(RELAY_MAX_BATCHES):
        sent, failed = _relay_batch()
        total += sent
        if failed or sent < RELAY_BATCH:
            break
    return total


def _retry_delay(attempts: int) -> timedelta:
    base = settings.OUTBOX_RETRY_SECONDS
    return timedelta(seconds=min(base * 2 ** (attempts - 1), MAX_RETRY_DELAY_SECONDS))


def outbox_deliver(*, message_id: int) -> str:
    """Run a message's handler once; ``"delivered"``, ``"duplicate"`` (already
    delivered: a redelivered task), ``"missing"`` (purged) or ``"failed"``.

    Locks the row for the handler's run, so a concurrent duplicate waits and then
    finds it delivered. The handler's writes and the delivered mark commit together;
    events it publishes go out after that commit. A handler that raises is rolled
    back, its error recorded, and its row put back for the relay after a pause that
    doubles with each failure (``OUTBOX_RETRY_SECONDS`` up to an hour)."""
    from foodiefast.events import handle

    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            return "missing"
        if message.delivered_at is not None:
            return "duplicate"
        try:
            with transaction.atomic():
                handle(handler_path=message.handler, event_type=message.event_type, payload=message.payload)
        except Exception as exc:
            message.attempts += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            message.relayed_at = None
            message.available_at = timezone.now() + _retry_delay(message.attempts)
            message.save(update_fields=["attempts", "last_error", "relayed_at", "available_at"])
            logger.exception(
                "outbox: %s failed on message %s (attempt %d)", message.handler, message.pk, message.attempts
            )
            return "failed"
        message.delivered_at = timezone.now()
        message.save(update_fields=["delivered_at"])
    return "delivered"


def outbox_retry_now(*, message_ids: Iterable[int]) -> int:
    """Put undelivered messages back for the next relay at once (staff, after fixing
    what made a handler fail, need not wait out its pause); how many. Delivered ones
    are left alone: a handler runs once."""
    with transaction.atomic():
        count = OutboxMessage.objects.filter(pk__in=list(message_ids), delivered_at__isnull=True).update(
            available_at=timezone.now(), relayed_at=None
        )
    return count


def outbox_purge(*, older_than: timedelta | None = None) -> int:
    """Delete messages delivered more than ``older_than`` ago (default
    ``OUTBOX_RETENTION_DAYS``), in batches; how many. Undelivered ones are kept."""
    cutoff = timezone.now() - (older_than or timedelta(days=settings.OUTBOX_RETENTION_DAYS))
    deleted = 0
    while True:
        batch = list(OutboxMessage.objects.filter(delivered_at__lt=cutoff).values_list("pk", flat=True)[:PURGE_BATCH])
        if not batch:
            return deleted
        deleted += OutboxMessage.objects.filter(pk__in=batch).delete()[0]
