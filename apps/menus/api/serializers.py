from django.conf import settings
from rest_framework import serializers

from apps.chefs.models import Kitchen
from apps.menus.models import ALLERGENS, DIETARY_TAGS, Dish
from foodiefast.geo import travel_minutes
from foodiefast.json_input import StrictInput
from foodiefast.localtime import local_today
from foodiefast.pagination import page_schema
from foodiefast.photo_api import PHOTO_OUTPUT_FIELDS, PHOTO_UPLOAD_ID_HELP, PhotoOutputFields, PhotoUrlField

MAX_PORTIONS = 10_000


class DishInput(StrictInput):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=4000, allow_blank=True, required=False, default="")
    price_cents = serializers.IntegerField(min_value=1, max_value=1_000_000)
    dietary_tags = serializers.ListField(
        child=serializers.ChoiceField(choices=DIETARY_TAGS), required=False, default=list, max_length=len(DIETARY_TAGS)
    )
    allergens = serializers.ListField(
        child=serializers.ChoiceField(choices=ALLERGENS),
        allow_empty=True,
        help_text="Required: the EU allergens the dish contains; [] means none of the 14.",
    )
    portions_per_day = serializers.IntegerField(min_value=0, max_value=MAX_PORTIONS)
    is_available = serializers.BooleanField(required=False, default=True)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        for name in ("allergens", "dietary_tags"):
            if name in value:
                value[name] = sorted(set(value[name]))
        return value


class DishPatchInput(DishInput):
    portions_left = serializers.IntegerField(min_value=0, max_value=MAX_PORTIONS, help_text="Today's stock")
    photo_upload_id = serializers.UUIDField(help_text=PHOTO_UPLOAD_ID_HELP)


class ChefDishOutput(PhotoOutputFields, serializers.ModelSerializer):
    currency = serializers.SerializerMethodField()
    dietary_tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    allergens = serializers.ListField(child=serializers.CharField(), read_only=True)
    portions_left = serializers.SerializerMethodField()

    class Meta:
        model = Dish
        fields = [
            "id",
            "name",
            "description",
            *PHOTO_OUTPUT_FIELDS,
            "price_cents",
            "currency",
            "dietary_tags",
            "allergens",
            "portions_per_day",
            "portions_left",
            "is_available",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_currency(self, obj) -> str:
        return settings.CURRENCY

    def get_portions_left(self, obj) -> int:
        return obj.portions_left_on(local_today())


class ChefRef(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField()


class DishPublicOutput(serializers.Serializer):
    id = serializers.UUIDField()
    chef = serializers.SerializerMethodField()
    name = serializers.CharField()
    description = serializers.CharField()
    photo_url = PhotoUrlField(help_text="The photo (WebP); null when there is none")
    photo_thumb_url = PhotoUrlField(help_text="Its thumbnail (WebP); null when there is none")
    price_cents = serializers.IntegerField()
    currency = serializers.SerializerMethodField()
    dietary_tags = serializers.ListField(child=serializers.CharField())
    allergens = serializers.ListField(child=serializers.CharField())
    portions_left = serializers.SerializerMethodField()
    is_available = serializers.BooleanField()

    def get_chef(self, obj) -> ChefRef:
        return {"id": str(obj.kitchen_id), "display_name": obj.kitchen.display_name}

    def get_currency(self, obj) -> str:
        return settings.CURRENCY

    def get_portions_left(self, obj) -> int:
        return obj.portions_left_on(self.context.get("today") or local_today())


class ChefPublicOutput(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField()
    bio = serializers.CharField()
    cuisine = serializers.CharField()
    photo_url = PhotoUrlField(help_text="The photo (WebP); null when there is none")
    photo_thumb_url = PhotoUrlField(help_text="Its thumbnail (WebP); null when there is none")
    rating = serializers.FloatField(allow_null=True)
    rating_count = serializers.IntegerField()
    distance_km = serializers.SerializerMethodField()
    is_open = serializers.BooleanField()
    delivery_fee_cents = serializers.IntegerField()
    currency = serializers.SerializerMethodField()
    estimated_delivery_minutes = serializers.SerializerMethodField()

    def get_distance_km(self, obj: Kitchen) -> float | None:
        distance = getattr(obj, "distance_km", None)
        return None if distance is None else round(distance, 2)

    def get_currency(self, obj) -> str:
        return settings.CURRENCY

    def get_estimated_delivery_minutes(self, obj: Kitchen) -> int | None:
        distance = getattr(obj, "distance_km", None)
        if distance is None:
            return None
        return obj.prep_minutes + travel_minutes(distance, settings.COURIER_SPEED_KMH)


class OpeningSlotPublicOutput(serializers.Serializer):
    """One slot of a kitchen's week on its public page (as the chef API shows it)."""

    weekday = serializers.IntegerField()
    opens = serializers.CharField()
    closes = serializers.CharField()


class ChefDetailOutput(ChefPublicOutput):
    opening_hours = OpeningSlotPublicOutput(many=True)
    dishes = DishPublicOutput(many=True, source="dishes_today")


DishPage = page_schema("DishPage", DishPublicOutput)
ChefPage = page_schema("ChefPage", ChefPublicOutput)
ChefDishPage = page_schema("ChefDishPage", ChefDishOutput)
