"""Couriers, deliveries, why each assignment happened, and the trail of positions.

A :class:`Delivery` is opened for an opaque ``reference`` (the order id) by the app
above; tracking never reads the order. :data:`TRANSITIONS` is the one map of allowed
moves. A courier holds at most one active delivery, enforced by a partial unique
index (the claim also locks the courier's row, so two claims of one courier queue).
The newest position of each courier lives in Redis (``positions.py``); PostgreSQL
keeps the courier's availability and the position given with it (enough to list
deliveries near them), and a downsampled trail per delivery, purged after
``LOCATION_RETENTION_DAYS``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CourierState(models.Model):
    """A courier's availability and the position they gave with it."""

    courier = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="courier_state"
    )
    is_online = models.BooleanField(_("online"), default=False)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    position_at = models.DateTimeField(_("position given at"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("courier availability")
        verbose_name_plural = _("courier availabilities")

    def __str__(self) -> str:
        return f"{self.courier_id} ({'online' if self.is_online else 'offline'})"


class DeliveryStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for a courier")
    CLAIMED = "claimed", _("Claimed by a courier")
    PICKED_UP = "picked_up", _("Picked up")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


D = DeliveryStatus
# The one map of allowed moves: a claimed delivery may be released (waiting again).
TRANSITIONS: dict[str, frozenset[str]] = {
    D.WAITING: frozenset({D.CLAIMED, D.CANCELLED}),
    D.CLAIMED: frozenset({D.WAITING, D.PICKED_UP, D.CANCELLED}),
    D.PICKED_UP: frozenset({D.DELIVERED}),
    D.DELIVERED: frozenset(),
    D.CANCELLED: frozenset(),
}
ACTIVE_STATUSES = frozenset({D.CLAIMED, D.PICKED_UP})
FINAL_STATUSES = frozenset({D.DELIVERED, D.CANCELLED})


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS[current]


class Delivery(models.Model):
    """One trip from a kitchen to a door, for an opaque ``reference``. The drop-off's
    address, instructions and phone are kept only while the delivery is open."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(_("reference"), max_length=64, unique=True, help_text=_("The order id."))
    status = models.CharField(_("status"), max_length=16, choices=DeliveryStatus.choices, default=D.WAITING)
    pickup_lat = models.FloatField()
    pickup_lng = models.FloatField()
    pickup_address = models.CharField(max_length=255, blank=True, default="")
    dropoff_lat = models.FloatField()
    dropoff_lng = models.FloatField()
    dropoff_address = models.CharField(max_length=255, blank=True, default="")
    dropoff_instructions = models.CharField(max_length=500, blank=True, default="")
    dropoff_phone = models.CharField(max_length=32, blank=True, default="")
    expected_ready_at = models.DateTimeField(_("expected ready at"), null=True, blank=True)
    ready_at = models.DateTimeField(_("ready for pickup at"), null=True, blank=True)
    courier = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    unclaimed_alert_at = models.DateTimeField(
        _("staff alerted at"), null=True, blank=True, help_text=_("When staff were told nobody claimed it in time.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = pgettext_lazy("a courier's trip", "delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            # The available list: waiting deliveries, a range on the pickup's lat then lng.
            models.Index(
                fields=["pickup_lat", "pickup_lng"], name="tracking_waiting_pickup", condition=Q(status="waiting")
            ),
            # The unclaimed sweep: ready, waiting, not alerted yet.
            models.Index(
                fields=["ready_at"],
                name="tracking_unclaimed_ready",
                condition=Q(status="waiting", unclaimed_alert_at__isnull=True, ready_at__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["courier"], condition=Q(status__in=["claimed", "picked_up"]), name="tracking_one_active_each"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["waiting", "cancelled"]) | Q(courier__isnull=False),
                name="tracking_courier_when_assigned",
            ),
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="tracking_status_known"),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.reference} ({self.status})"


class AssignmentAction(models.TextChoices):
    CLAIMED = "claimed", _("Claimed")
    RELEASED = "released", _("Released by the courier")
    CANCELLED = "cancelled", _("Cancelled with the order")


class Assignment(models.Model):
    """The dispatch audit: who took or gave back a delivery, when, and how far from
    the kitchen they were (the position they last gave, and when they gave it)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="assignments")
    courier = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(_("action"), max_length=16, choices=AssignmentAction.choices)
    at = models.DateTimeField(_("at"))
    distance_km = models.FloatField(_("distance to the kitchen (km)"), null=True, blank=True)
    courier_lat = models.FloatField(null=True, blank=True)
    courier_lng = models.FloatField(null=True, blank=True)
    position_at = models.DateTimeField(_("position given at"), null=True, blank=True)
    note = models.CharField(_("why"), max_length=255, blank=True, default="")

    class Meta:
        ordering = ("at", "id")
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        indexes = [models.Index(fields=["delivery", "at"], name="tracking_assignment_at")]

    def __str__(self) -> str:
        return f"{self.action} by {self.courier_id} at {self.at:%Y-%m-%d %H:%M:%S}"


class TrailPoint(models.Model):
    """A kept point of a delivery's route (downsampled; purged after
    ``LOCATION_RETENTION_DAYS``)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="trail")
    courier = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    lat = models.FloatField()
    lng = models.FloatField()
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ("recorded_at", "id")
        indexes = [
            models.Index(fields=["delivery", "recorded_at"], name="tracking_trail_delivery"),
            models.Index(fields=["recorded_at"], name="tracking_trail_recorded"),
        ]

    def __str__(self) -> str:
        return f"{self.lat:.5f},{self.lng:.5f} at {self.recorded_at:%H:%M:%S}"
