"""The kernel's tables: the event outbox (see :mod:`foodiefast.outbox`), the mail
queue (see :mod:`foodiefast.mail`), the feature flags (:mod:`foodiefast.flags`) and
photo uploads (see :mod:`foodiefast.photos`)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """One announced event owed to one subscribed handler.

    Written by :func:`foodiefast.events.publish` in the same transaction as the change
    it announces, so it exists exactly when the change does. ``relayed_at`` says the
    delivery task is the broker's: written with the message (its publisher sends it
    after commit, and clears the mark when the broker refuses), or set by the
    periodic relay with the broker's acceptance; ``delivered_at`` once the handler ran,
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


class MailMessage(models.Model):
    """One email owed to one recipient, and once sent, the record that it was.

    Written by :func:`foodiefast.mail.mail_request` in the transaction of the change it
    tells about; at most one per ``(kind, object_id, recipient)``, so asking twice
    (a redelivered handler) sends once. A worker claims it for a lease before talking
    to the mail server and writes ``sent_at`` right after the server took it, so a
    redelivered task finds it sent. ``failed_at``: the server refused it for good.
    """

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=100, help_text="What the mail tells, e.g. orders.paid")
    object_id = models.CharField(max_length=100, help_text="What it is about, e.g. the order's id")
    recipient = models.EmailField(max_length=254)
    language = models.CharField(max_length=8)
    template = models.CharField(max_length=200, help_text="Base name of the subject, text and HTML templates")
    context = models.JSONField(help_text="The templates' context, plain JSON")
    created_at = models.DateTimeField(default=timezone.now)
    # Not sent before this time: a failed send waits here, backing off.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker sending it holds it until then; a dead worker's claim runs out.
    leased_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Sends that failed")
    last_error = models.TextField(blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True, help_text="Refused for good by the mail server")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id", "recipient"], name="mail_once_per_recipient"),
        ]
        indexes = [
            # The relay's scan: only what is still owed.
            models.Index(
                fields=["next_attempt_at"],
                name="mail_owed_idx",
                condition=Q(sent_at__isnull=True, failed_at__isnull=True),
            ),
            # The purge's scan.
            models.Index(fields=["sent_at"], name="mail_sent_idx", condition=Q(sent_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} -> {self.recipient}"


class FeatureFlag(models.Model):
    """A feature turned on for a share of users (see :mod:`foodiefast.flags`).

    Rolled out to ``percent`` % of users: on for a user exactly when
    ``crc32("<name>:<user id>") % 100 < percent``, so each user's answer is stable and
    raising the share only adds users. Anonymous callers have it only at 100 %.
    """

    name = models.SlugField(
        _("name"), max_length=100, unique=True, help_text=_("How the apps and services ask for it, e.g. new_checkout.")
    )
    percent = models.PositiveSmallIntegerField(
        _("rollout (%)"),
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_("Share of users who have it: 0 off for all, 100 on for all (anonymous callers too)."),
    )
    description = models.CharField(_("description"), max_length=255, blank=True, default="")
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ("name",)
        verbose_name = _("feature flag")
        verbose_name_plural = _("feature flags")
        constraints = [models.CheckConstraint(condition=Q(percent__lte=100), name="feature_flag_percent_at_most_100")]

    def __str__(self) -> str:
        return f"{self.name} ({self.percent} %)"


class PhotoStatus(models.TextChoices):
    PROCESSING = "processing"
    READY = "ready"
    REJECTED = "rejected"


class WithPhoto(models.Model):
    """A photo made by the pipeline of :mod:`foodiefast.photos` (a kitchen's, a
    dish's). Only the pipeline writes these fields: ``photo_url`` and
    ``photo_thumb_url`` are the published sizes (null: no photo), ``photo_status`` the
    last upload's fate, ``photo_error`` why it was rejected, ``photo_pending_upload``
    the upload being processed (a later upload supersedes it)."""

    photo_url = models.URLField(max_length=500, null=True, blank=True, help_text="The large size; null: no photo")
    photo_thumb_url = models.URLField(max_length=500, null=True, blank=True, help_text="The thumbnail; null: no photo")
    photo_status = models.CharField(max_length=12, choices=PhotoStatus.choices, null=True, blank=True)
    photo_error = models.CharField(max_length=300, null=True, blank=True)
    photo_pending_upload = models.UUIDField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def photo_state(self) -> str | None:
        """``photo_status``, with a photo set before the pipeline existed counted ready."""
        return self.photo_status or (PhotoStatus.READY.value if self.photo_url else None)


class PhotoUpload(models.Model):
    """A photo upload a chef (``owner``) was allowed to send to object storage, at
    ``key``, until ``expires_at``; ``claimed_at`` once given to a kitchen or a dish
    (an upload serves once)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index: an upload is always read by its id (and its owner compared).
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    content_type = models.CharField(max_length=20)
    size_bytes = models.PositiveIntegerField(help_text="The most bytes the upload may have")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"photo upload {self.pk}"

    @property
    def key(self) -> str:
        """Where the original goes in storage (never published)."""
        return self.key_of(self.pk)

    @staticmethod
    def key_of(upload_id) -> str:
        return f"uploads/{upload_id}"
