"""Staff see orders with their lines and timeline (read-only: orders change only
through the services). Cancelling an order (a support case) voids or refunds its
payment through the same service as everywhere else."""

from django.contrib import admin, messages

from apps.orders import services
from apps.orders.models import Order, OrderEvent, OrderLine, Review
from foodiefast.errors import DomainError


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LineInline(ReadOnlyInline):
    model = OrderLine
    fields = readonly_fields = ("name", "quantity", "unit_price_cents", "line_total_cents", "allergens", "vat_rate_bp")


class TimelineInline(ReadOnlyInline):
    model = OrderEvent
    fields = readonly_fields = ("at", "status", "actor", "reason")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "kitchen", "total_cents", "currency", "created_at")
    list_filter = ("status",)
    search_fields = ("id", "kitchen__display_name", "customer__email")
    list_select_related = ("kitchen",)
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "id",
        "status",
        "customer",
        "kitchen",
        "subtotal_cents",
        "delivery_fee_cents",
        "service_fee_cents",
        "tip_cents",
        "total_cents",
        "currency",
        "customer_name",
        "delivery_address",
        "delivery_instructions",
        "prep_minutes",
        "payment_due_at",
        "accept_by",
        "cancelled_by",
        "cancellation_reason",
        "money_outcome",
        "created_at",
    )
    inlines = (LineInline, TimelineInline)
    actions = ("cancel_and_refund",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Cancel (voiding or refunding the payment)")
    def cancel_and_refund(self, request, queryset):
        for order in queryset:
            try:
                services.order_cancel_by_staff(order_id=order.pk, reason=f"Cancelled by support ({request.user}).")
            except DomainError as exc:
                self.message_user(request, f"{order.pk}: {exc.detail}", messages.ERROR)
                continue
            self.message_user(request, f"{order.pk}: cancelled.", messages.SUCCESS)


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ("order", "kitchen", "rating", "created_at")
    fields = readonly_fields = ("order", "kitchen", "rating", "comment", "created_at")

    def has_add_permission(self, request):
        return False
