"""The outbox for platform staff: what is still owed to which handler, how often it
failed and why, and a way to send a message again without waiting out its pause.

Read-only: rows are written by ``publish`` and moved by the relay. Staff-only by
Django's permissions (chefs have none on kernel rows)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from foodiefast.models import OutboxMessage
from foodiefast.outbox import outbox_retry_now


class DeliveryState(admin.SimpleListFilter):
    title = _("delivery")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("owed", _("Not delivered yet")), ("failing", _("Failing")), ("delivered", _("Delivered"))]

    def queryset(self, request, queryset):
        if self.value() == "owed":
            return queryset.filter(delivered_at__isnull=True)
        if self.value() == "failing":
            return queryset.filter(delivered_at__isnull=True, attempts__gt=0)
        if self.value() == "delivered":
            return queryset.filter(delivered_at__isnull=False)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "event_type", "handler", "created_at", "relayed_at", "delivered_at", "attempts"]
    list_filter = [DeliveryState]
    search_fields = ["event_type", "handler", "last_error"]
    ordering = ["-id"]
    show_full_result_count = False
    actions = ["send_again_now"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Send again now (undelivered only)"), permissions=["view"])
    def send_again_now(self, request, queryset):
        count = outbox_retry_now(message_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, _("%d message(s) will be sent by the next relay.") % count, messages.SUCCESS)
