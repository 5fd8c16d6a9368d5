import itertools

from django.conf import settings
from rest_framework import serializers

from apps.chefs.models import MAX_DELIVERY_RADIUS_KM, Kitchen, parse_hhmm


class ProfileOutput(serializers.ModelSerializer):
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Kitchen
        fields = [
            "id",
            "display_name",
            "bio",
            "cuisine",
            "photo_url",
            "address",
            "lat",
            "lng",
            "delivery_radius_km",
            "delivery_fee_cents",
            "currency",
            "prep_minutes",
            "is_paused",
            "is_approved",
            "approved_at",
            "rating",
            "rating_count",
        ]
        read_only_fields = fields

    def get_currency(self, obj) -> str:
        return settings.CURRENCY


class ProfileInput(serializers.Serializer):
    display_name = serializers.CharField(max_length=120, allow_blank=True)
    bio = serializers.CharField(max_length=4000, allow_blank=True)
    cuisine = serializers.CharField(max_length=60, allow_blank=True)
    photo_url = serializers.URLField(max_length=500, allow_blank=True)
    address = serializers.CharField(max_length=255, allow_blank=True)
    lat = serializers.FloatField(min_value=-90, max_value=90, allow_null=True)
    lng = serializers.FloatField(min_value=-180, max_value=180, allow_null=True)
    delivery_radius_km = serializers.FloatField(min_value=0.1, max_value=MAX_DELIVERY_RADIUS_KM)
    delivery_fee_cents = serializers.IntegerField(min_value=0, max_value=100_000)
    prep_minutes = serializers.IntegerField(min_value=1, max_value=240)
    is_paused = serializers.BooleanField()

    def validate(self, attrs):
        if ("lat" in attrs) != ("lng" in attrs) or (attrs.get("lat") is None) != (attrs.get("lng") is None):
            raise serializers.ValidationError({"lat": ["Send lat and lng together."]})
        return attrs


class OpeningSlot(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday")
    opens = serializers.CharField(help_text="HH:MM, local time (Europe/Paris)")
    closes = serializers.CharField(help_text="HH:MM, up to 24:00")

    def validate(self, attrs):
        errors = {}
        try:
            attrs["opens_minute"] = parse_hhmm(attrs["opens"], allow_midnight_end=False)
        except ValueError as exc:
            errors["opens"] = [str(exc)]
        try:
            attrs["closes_minute"] = parse_hhmm(attrs["closes"], allow_midnight_end=True)
        except ValueError as exc:
            errors["closes"] = [str(exc)]
        if errors:
            raise serializers.ValidationError(errors)
        if attrs["opens_minute"] >= attrs["closes_minute"]:
            raise serializers.ValidationError(
                {"closes": ["A slot must close after it opens, within one day (a service past midnight is two slots)."]}
            )
        return attrs


class OpeningHoursInput(serializers.ListSerializer):
    child = OpeningSlot()

    def validate(self, attrs):
        by_day: dict[int, list[tuple[int, int]]] = {}
        for slot in attrs:
            by_day.setdefault(slot["weekday"], []).append((slot["opens_minute"], slot["closes_minute"]))
        for day, spans in by_day.items():
            spans.sort()
            for (_, end), (start, _) in itertools.pairwise(spans):
                if start < end:
                    raise serializers.ValidationError(f"Slots of weekday {day} overlap.")
        return attrs


class OpeningSlotOutput(serializers.Serializer):
    weekday = serializers.IntegerField()
    opens = serializers.CharField()
    closes = serializers.CharField()
