"""Kitchens (a chef's public profile) and their weekly opening hours."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _

from foodiefast.models import WithPhoto

# Browse searches a bounding box this wide around the customer, so no kitchen may
# deliver further (bigger radii would be silently missed).
MAX_DELIVERY_RADIUS_KM = 30.0


class Kitchen(WithPhoto):
    """One per chef user. Its ``id`` is the chef's public id in the API.

    Created unapproved and incomplete when the chef registers; listed to customers
    only once staff approved it (which needs a location) and while not paused.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chef = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="kitchen")
    display_name = models.CharField(max_length=120, blank=True, default="")
    bio = models.TextField(blank=True, default="")
    cuisine = models.CharField(max_length=60, blank=True, default="")
    # photo_url, photo_thumb_url, photo_status...: written by the photo pipeline only
    # (foodiefast/photos.py); processes keep nothing on local disk.
    address = models.CharField(max_length=255, blank=True, default="")
    lat = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)], help_text="WGS 84 degrees"
    )
    lng = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)], help_text="WGS 84 degrees"
    )
    delivery_radius_km = models.FloatField(
        default=5.0, validators=[MinValueValidator(0.1), MaxValueValidator(MAX_DELIVERY_RADIUS_KM)]
    )
    delivery_fee_cents = models.PositiveIntegerField(default=299)
    prep_minutes = models.PositiveSmallIntegerField(
        default=20, validators=[MinValueValidator(1), MaxValueValidator(240)], help_text="Usual preparation time"
    )
    is_paused = models.BooleanField(default=False, help_text="Temporarily hidden from customers by the chef.")
    # db_default: inserts of the release still running (which knows no such column) work.
    minimum_order_cents = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Smallest subtotal this kitchen takes an order for."
    )
    max_open_orders = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Open orders at once; empty: no limit."
    )
    is_approved = models.BooleanField(default=False)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rating = models.FloatField(null=True, blank=True, help_text="Average review rating (1-5).")
    rating_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name"]
        indexes = [
            # The browse bounding box: a range on lat, then lng, among listed kitchens only.
            models.Index(
                fields=["lat", "lng"],
                name="chefs_kitchen_listed_latlng",
                condition=Q(is_approved=True, is_paused=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_approved=False) | (Q(lat__isnull=False) & Q(lng__isnull=False)),
                name="chefs_kitchen_approved_has_location",
            ),
            models.CheckConstraint(condition=Q(delivery_radius_km__gt=0), name="chefs_kitchen_radius_positive"),
        ]

    def __str__(self) -> str:
        return self.display_name or f"Kitchen of {self.chef_id}"

    @property
    def has_location(self) -> bool:
        return self.lat is not None and self.lng is not None


MINUTES_PER_DAY = 24 * 60


class OpeningHours(models.Model):
    """One service slot of a weekday, local time (``settings.LOCAL_TIME_ZONE``).

    Stored as minutes since local midnight so that ``closes`` can be 24:00; a service
    past midnight is two slots.
    """

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    kitchen = models.ForeignKey(Kitchen, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_minute = models.PositiveSmallIntegerField(validators=[MaxValueValidator(MINUTES_PER_DAY - 1)])
    closes_minute = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MINUTES_PER_DAY)]
    )

    class Meta:
        ordering = ["weekday", "opens_minute"]
        verbose_name_plural = "opening hours"
        indexes = [models.Index(fields=["kitchen", "weekday", "opens_minute"], name="chefs_hours_kitchen_day")]
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_minute__lt=models.F("closes_minute")), name="chefs_hours_opens_first"
            ),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="chefs_hours_weekday_range"),
            models.CheckConstraint(
                condition=Q(closes_minute__lte=MINUTES_PER_DAY), name="chefs_hours_closes_by_midnight"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {format_minute(self.opens_minute)}-{format_minute(self.closes_minute)}"

    @property
    def opens(self) -> str:
        return format_minute(self.opens_minute)

    @property
    def closes(self) -> str:
        return format_minute(self.closes_minute)


def format_minute(minute: int) -> str:
    """Minutes since midnight as ``HH:MM`` (1440 is ``24:00``)."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_hhmm(value: str, *, allow_midnight_end: bool) -> int:
    """``HH:MM`` as minutes since midnight; ``24:00`` only when ``allow_midnight_end``.
    Raises ``ValueError`` for anything else."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise ValueError(_("Use HH:MM."))
    hours, minutes = value[:2], value[3:]
    if not (hours.isdigit() and minutes.isdigit()):
        raise ValueError(_("Use HH:MM."))
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0 and allow_midnight_end:
        return MINUTES_PER_DAY
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise ValueError(
            _("Not a time of day (00:00 to 23:59, or 24:00).")
            if allow_midnight_end
            else _("Not a time of day (00:00 to 23:59).")
        )
    return h * 60 + m
