from django.conf import settings
from django.core.validators import RegexValidator
from rest_framework import serializers

from apps.chefs.errors import OpeningHoursInvalid
from apps.chefs.models import MAX_DELIVERY_RADIUS_KM, Kitchen
from apps.chefs.services import opening_hours_check, opening_slot_parse
from foodiefast.json_input import StrictInput
from foodiefast.photo_api import PHOTO_OUTPUT_FIELDS, PHOTO_UPLOAD_ID_HELP, PhotoOutputFields

# The shape of a time of day, documented as the schema's pattern (with the message the admin gives);
# opening_slot_parse checks the rest.
OPENS = RegexValidator(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", "Use HH:MM.")
CLOSES = RegexValidator(r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", "Use HH:MM.")


class ProfileOutput(PhotoOutputFields, serializers.ModelSerializer):
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Kitchen
        fields = [
            "id",
            "display_name",
            "bio",
            "cuisine",
            *PHOTO_OUTPUT_FIELDS,
            "address",
            "lat",
            "lng",
            "delivery_radius_km",
            "delivery_fee_cents",
            "currency",
            "prep_minutes",
            "is_paused",
            "minimum_order_cents",
            "max_open_orders",
            "is_approved",
            "approved_at",
            "rating",
            "rating_count",
        ]
        read_only_fields = fields

    def get_currency(self, obj) -> str:
        return settings.CURRENCY


class ProfileInput(StrictInput):
    display_name = serializers.CharField(max_length=120, allow_blank=True)
    bio = serializers.CharField(max_length=4000, allow_blank=True)
    cuisine = serializers.CharField(max_length=60, allow_blank=True)
    photo_upload_id = serializers.UUIDField(help_text=PHOTO_UPLOAD_ID_HELP)
    address = serializers.CharField(max_length=255, allow_blank=True)
    lat = serializers.FloatField(min_value=-90, max_value=90, allow_null=True)
    lng = serializers.FloatField(min_value=-180, max_value=180, allow_null=True)
    delivery_radius_km = serializers.FloatField(min_value=0.1, max_value=MAX_DELIVERY_RADIUS_KM)
    delivery_fee_cents = serializers.IntegerField(min_value=0, max_value=100_000)
    prep_minutes = serializers.IntegerField(min_value=1, max_value=240)
    is_paused = serializers.BooleanField()
    minimum_order_cents = serializers.IntegerField(min_value=0, max_value=100_000)
    max_open_orders = serializers.IntegerField(
        min_value=1, max_value=10_000, allow_null=True, help_text="null: no limit"
    )
    # The location rule (lat and lng together, an approved kitchen keeps its
    # location) is checked by the service, for the admin too.


class OpeningSlot(StrictInput):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday")
    opens = serializers.CharField(validators=[OPENS], help_text="HH:MM, local time (Europe/Paris)")
    closes = serializers.CharField(validators=[CLOSES], help_text="HH:MM, up to 24:00")

    def validate(self, attrs):
        try:
            _, attrs["opens_minute"], attrs["closes_minute"] = opening_slot_parse(
                weekday=attrs["weekday"], opens=attrs["opens"], closes=attrs["closes"]
            )
        except OpeningHoursInvalid as exc:
            raise serializers.ValidationError(exc.extra["fields"]) from exc
        return attrs


class OpeningHoursInput(serializers.ListSerializer):
    child = OpeningSlot()

    def validate(self, attrs):
        try:
            opening_hours_check(slots=[(s["weekday"], s["opens_minute"], s["closes_minute"]) for s in attrs])
        except OpeningHoursInvalid as exc:
            raise serializers.ValidationError(exc.detail) from exc
        return attrs


class OpeningSlotOutput(serializers.Serializer):
    weekday = serializers.IntegerField()
    opens = serializers.CharField()
    closes = serializers.CharField()
