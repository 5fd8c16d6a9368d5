"""Input and output of the order API (customers) and the chef's order API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.orders.models import MAX_QUANTITY, OrderStatus
from foodiefast.json_input import StrictInput
from foodiefast.pagination import page_schema

# ---------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------


class OrderItemInput(StrictInput):
    dish_id = serializers.UUIDField()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class DeliveryInput(StrictInput):
    address = serializers.CharField(max_length=255)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lng = serializers.FloatField(min_value=-180, max_value=180)
    instructions = serializers.CharField(max_length=500, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)


class OrderPlaceInput(StrictInput):
    items = OrderItemInput(many=True, allow_empty=False, max_length=50)
    delivery = DeliveryInput()
    tip_cents = serializers.IntegerField(min_value=0, max_value=100_000, required=False, default=0)


class ReviewInput(StrictInput):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AcceptInput(StrictInput):
    prep_minutes = serializers.IntegerField(
        min_value=1, max_value=240, required=False, help_text="Minutes until ready; the kitchen's usual by default"
    )


class RejectInput(StrictInput):
    reason = serializers.CharField(max_length=500)


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


class ChefRefOutput(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField()


class OrderItemOutput(serializers.Serializer):
    dish_id = serializers.UUIDField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price_cents = serializers.IntegerField()
    line_total_cents = serializers.IntegerField()
    allergens = serializers.ListField(child=serializers.CharField(), help_text="EU allergen codes at checkout")
    vat_rate = serializers.FloatField(help_text="VAT rate in percent, included in the price")


class VatOutput(serializers.Serializer):
    rate = serializers.FloatField(help_text="Percent")
    amount_cents = serializers.IntegerField(help_text="What the rate applies to, VAT included")
    vat_cents = serializers.IntegerField()


class DeliveryOutput(serializers.Serializer):
    address = serializers.CharField(source="delivery_address")
    lat = serializers.FloatField(source="delivery_lat")
    lng = serializers.FloatField(source="delivery_lng")
    instructions = serializers.CharField(source="delivery_instructions")
    phone = serializers.CharField(source="delivery_phone")


class PaymentOutput(serializers.Serializer):
    provider = serializers.CharField()
    payment_intent_id = serializers.CharField(allow_null=True)
    client_secret = serializers.CharField(allow_null=True, help_text="Only while the order waits for payment")
    publishable_key = serializers.CharField()


class TimelineOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    at = serializers.DateTimeField()


class OrderOutput(serializers.Serializer):
    """API.md's order. ``context["payments"]``: the payment blocks by order id."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    chef = ChefRefOutput(source="kitchen")
    items = OrderItemOutput(source="lines", many=True)
    subtotal_cents = serializers.IntegerField()
    delivery_fee_cents = serializers.IntegerField()
    service_fee_cents = serializers.IntegerField()
    tip_cents = serializers.IntegerField()
    total_cents = serializers.IntegerField()
    currency = serializers.CharField()
    vat = serializers.SerializerMethodField(help_text="The VAT split per rate, for a receipt")
    delivery = DeliveryOutput(source="*")
    payment = serializers.SerializerMethodField()
    timeline = TimelineOutput(source="events", many=True)
    prep_minutes = serializers.IntegerField(allow_null=True)
    accept_by = serializers.DateTimeField(allow_null=True, help_text="While paid: when the chef must have accepted")
    payment_due_at = serializers.DateTimeField(help_text="While pending_payment: when the order expires")
    cancellation_reason = serializers.CharField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(VatOutput(many=True))
    def get_vat(self, order) -> list[dict]:
        return order.vat_split()

    @extend_schema_field(PaymentOutput(allow_null=True))
    def get_payment(self, order) -> dict | None:
        checkout = self.context.get("payments", {}).get(str(order.pk))
        return checkout.as_api() if checkout is not None else None


OrderPage = page_schema("OrderPage", OrderOutput)


class CustomerRefOutput(serializers.Serializer):
    first_name = serializers.CharField()


class ChefDeliveryOutput(serializers.Serializer):
    instructions = serializers.CharField(source="delivery_instructions")


class ChefOrderOutput(serializers.Serializer):
    """What the kitchen sees: no address, no phone, no payment."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    items = OrderItemOutput(source="lines", many=True)
    customer = CustomerRefOutput(source="*")
    delivery = ChefDeliveryOutput(source="*")
    subtotal_cents = serializers.IntegerField()
    currency = serializers.CharField()
    accept_by = serializers.DateTimeField(allow_null=True, help_text="The acceptance deadline")
    prep_minutes = serializers.IntegerField(allow_null=True)
    cancellation_reason = serializers.CharField()
    timeline = TimelineOutput(source="events", many=True)
    created_at = serializers.DateTimeField()


ChefOrderPage = page_schema("ChefOrderPage", ChefOrderOutput)


class ReviewOutput(serializers.Serializer):
    order_id = serializers.UUIDField()
    rating = serializers.IntegerField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


# ---------------------------------------------------------------------------
# Tracking
# ---------------------------------------------------------------------------


class PointOutput(serializers.Serializer):
    lat = serializers.FloatField()
    lng = serializers.FloatField()


class TrackedCourierOutput(serializers.Serializer):
    name = serializers.CharField(help_text="The courier's first name")
    lat = serializers.FloatField()
    lng = serializers.FloatField()
    updated_at = serializers.DateTimeField()


class TrackingOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    courier = TrackedCourierOutput(allow_null=True, help_text="Null until a courier is assigned, and once it ended")
    eta_minutes = serializers.IntegerField(allow_null=True, source="eta.minutes")
    estimated_arrival_at = serializers.DateTimeField(allow_null=True, source="eta.arrival_at")
    pickup = serializers.SerializerMethodField()
    dropoff = serializers.SerializerMethodField()

    @extend_schema_field(PointOutput(allow_null=True))
    def get_pickup(self, tracking) -> dict | None:
        return {"lat": tracking.pickup[0], "lng": tracking.pickup[1]} if tracking.pickup else None

    @extend_schema_field(PointOutput)
    def get_dropoff(self, tracking) -> dict:
        return {"lat": tracking.dropoff[0], "lng": tracking.dropoff[1]}


class ShareOutput(serializers.Serializer):
    url = serializers.URLField(help_text="The live page; anyone with it may open it until it expires")
    expires_at = serializers.DateTimeField(allow_null=True, help_text="Null until the order ends, then one hour later")
