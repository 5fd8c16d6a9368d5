"""Staff review dispatch: deliveries with why each assignment happened (who, when,
how far from the kitchen), the ones that need attention (ready and unclaimed for
``UNCLAIMED_ALERT_MINUTES``), and couriers' availability. Read-only: deliveries
change only through the services (the courier API, the order's moves)."""

from django.conf import settings
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.tracking.models import Assignment, CourierState, Delivery
from apps.tracking.selectors import unclaimed_q


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    can_delete = False
    fields = readonly_fields = ("at", "action", "courier", "distance_km", "courier_lat", "courier_lng", "note")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = _("attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("unclaimed", _("Unclaimed / needs attention"))]

    def queryset(self, request, queryset):
        if self.value() == "unclaimed":
            return queryset.filter(unclaimed_q())
        return queryset


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("reference", "status", "ready_at", "courier", "claimed_at", "unclaimed_alert_at", "created_at")
    list_filter = (NeedsAttentionFilter, "status")
    search_fields = ("reference", "courier__email")
    list_select_related = ("courier",)
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "id",
        "reference",
        "status",
        "courier",
        "pickup_address",
        "pickup_lat",
        "pickup_lng",
        "dropoff_address",
        "dropoff_lat",
        "dropoff_lng",
        "expected_ready_at",
        "ready_at",
        "claimed_at",
        "picked_up_at",
        "delivered_at",
        "cancelled_at",
        "unclaimed_alert_at",
        "created_at",
    )
    inlines = (AssignmentInline,)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "subtitle": _("Ready and unclaimed for %(minutes)d minutes: staff are alerted by email.")
            % {"minutes": settings.UNCLAIMED_ALERT_MINUTES},
        }
        return super().changelist_view(request, extra_context)


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ("at", "action", "delivery", "courier", "distance_km")
    list_filter = ("action",)
    search_fields = ("delivery__reference", "courier__email")
    list_select_related = ("delivery", "courier")
    date_hierarchy = "at"


@admin.register(CourierState)
class CourierStateAdmin(ReadOnlyAdmin):
    list_display = ("courier", "is_online", "lat", "lng", "position_at")
    list_filter = ("is_online",)
    search_fields = ("courier__email",)
    list_select_related = ("courier",)
