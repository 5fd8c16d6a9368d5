"""The kernel's one table: the event outbox (see :mod:`foodiefast.outbox`)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxMessage(models.Model):
    """One announced event owed to one subscribed handler.

    Written by :func:`foodiefast.events.publish` in the same transaction as the change
    it announces, so it exists exactly when the change does. ``relayed_at`` is set
    once the broker accepted the delivery task; ``delivered_at`` once the handler ran,
    in the same transaction as the handler's own writes (the marker a redelivered task
    checks). Delivered rows are purged after ``OUTBOX_RETENTION_DAYS``.
    """

    id = models.BigAutoField(primary_key=True)
    event_type = models.CharField(max_length=200, help_text="Dotted path of the event class")
    handler = models.CharField(max_length=200, help_text="Dotted path of the subscribed handler")
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    # Not sent before this time: a failed handler waits here, backing off.
    available_at = models.DateTimeField(default=timezone.now)
    relayed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Handler runs that failed")
    last_error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            # The relay's scan: only what is still owed, oldest first.
            models.Index(fields=["id"], name="outbox_pending_idx", condition=Q(delivered_at__isnull=True)),
            # The purge's scan.
            models.Index(fields=["delivered_at"], name="outbox_delivered_idx", condition=Q(delivered_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.handler} (#{self.pk})"
