"""Input and output of the courier API."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import serializers

from apps.tracking.models import DeliveryStatus
from apps.tracking.positions import Fix
from apps.tracking.services import MAX_BATCH
from foodiefast.errors import InvalidInput
from foodiefast.json_input import StrictInput
from foodiefast.pagination import page_schema

# ---------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------


class AvailabilityInput(StrictInput):
    online = serializers.BooleanField()
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lng = serializers.FloatField(min_value=-180, max_value=180)


POINT = {
    "type": "object",
    "properties": {
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "lng": {"type": "number", "minimum": -180, "maximum": 180},
        "recorded_at": {
            "type": "string",
            "format": "date-time",
            "description": "When the device took it (ISO 8601 with offset); the server's time by default",
        },
    },
    "required": ["lat", "lng"],
}
LOCATION_BODY = {
    "oneOf": [
        POINT,
        {
            "type": "array",
            "items": POINT,
            "minItems": 1,
            "maxItems": MAX_BATCH,
            "description": f"Up to {MAX_BATCH} points, oldest first",
        },
    ]
}


def _number(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and low <= value <= high else None


def _point(item: Any, prefix: str, now: datetime, errors: dict[str, list[str]]) -> Fix | None:
    if not isinstance(item, dict):
        errors[prefix.rstrip(".") or "non_field_errors"] = [_("A point is an object with lat and lng.")]
        return None
    lat = _number(item.get("lat"), -90, 90)
    lng = _number(item.get("lng"), -180, 180)
    if lat is None:
        errors[f"{prefix}lat"] = [_("A number from -90 to 90.")]
    if lng is None:
        errors[f"{prefix}lng"] = [_("A number from -180 to 180.")]
    at = now
    raw = item.get("recorded_at")
    if raw is not None:
        parsed = None
        if isinstance(raw, str):
            try:
                parsed = parse_datetime(raw)
            except ValueError:
                parsed = None
        if parsed is None or timezone.is_naive(parsed):
            errors[f"{prefix}recorded_at"] = [_("An ISO 8601 date and time with its offset.")]
        else:
            at = min(parsed, now)  # a device clock ahead of ours is not the future
    if lat is None or lng is None or f"{prefix}recorded_at" in errors:
        return None
    return Fix(lat, lng, at.timestamp())


def points_from(data: Any) -> list[Fix]:
    """The body of ``POST /courier/location``: one point or a list of up to
    ``MAX_BATCH``, oldest first. Raises ``InvalidInput`` naming each bad field
    (``lat``, or ``<index>.lat`` in a list)."""
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if isinstance(data, list):
        if not data:
            raise InvalidInput(_("Send at least one point."), fields={"non_field_errors": [_("Empty list.")]})
        if len(data) > MAX_BATCH:
            message = _("At most %(count)d points at once.") % {"count": MAX_BATCH}
            raise InvalidInput(message, fields={"non_field_errors": [message]})
        points = [_point(item, f"{index}.", now, errors) for index, item in enumerate(data)]
    else:
        points = [_point(data, "", now, errors)]
    if errors:
        name, messages = next(iter(errors.items()))
        raise InvalidInput(f"{name}: {messages[0]}", fields=errors)
    return [point for point in points if point is not None]


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


class AvailabilityOutput(serializers.Serializer):
    online = serializers.BooleanField()
    lat = serializers.FloatField()
    lng = serializers.FloatField()
    updated_at = serializers.DateTimeField()


class CourierPlaceOutput(serializers.Serializer):
    lat = serializers.FloatField()
    lng = serializers.FloatField()
    address = serializers.CharField()


class CourierDeliveryOutput(serializers.Serializer):
    """A delivery as couriers see it before claiming it: no phone, no instructions."""

    id = serializers.UUIDField()
    order_id = serializers.CharField(source="reference", help_text="The order this delivery carries")
    pickup = serializers.SerializerMethodField()
    dropoff = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    ready_for_pickup = serializers.SerializerMethodField(help_text="The kitchen marked the food ready")
    expected_ready_at = serializers.DateTimeField(allow_null=True)

    def _place(self, lat: float, lng: float, address: str) -> dict:
        return {"lat": lat, "lng": lng, "address": address}

    def get_pickup(self, delivery) -> CourierPlaceOutput:
        return self._place(delivery.pickup_lat, delivery.pickup_lng, delivery.pickup_address)

    def get_dropoff(self, delivery) -> CourierPlaceOutput:
        return self._place(delivery.dropoff_lat, delivery.dropoff_lng, delivery.dropoff_address)

    def get_ready_for_pickup(self, delivery) -> bool:
        return delivery.ready_at is not None


class AvailableDeliveryOutput(CourierDeliveryOutput):
    distance_km = serializers.FloatField(help_text="From your position to the kitchen")


class AssignedDeliveryOutput(CourierDeliveryOutput):
    """The assigned courier's view: with the door's instructions and phone."""

    instructions = serializers.CharField(source="dropoff_instructions")
    phone = serializers.CharField(source="dropoff_phone", help_text="The customer's phone for this delivery, or ''")
    claimed_at = serializers.DateTimeField(allow_null=True)
    picked_up_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)


AvailablePage = page_schema("AvailableDeliveryPage", AvailableDeliveryOutput)


class LocationAccepted(serializers.Serializer):
    points = serializers.IntegerField(help_text="How many points were taken")
