"""The outbox and the mail queue for platform staff: what is still owed to which
handler or recipient, how often it failed and why, and a way to send it again without
waiting out its pause. Read-only: rows are written by ``publish`` and ``mail_request``
and moved by the relays.

And the feature flags, which staff edit: a flag's rollout share, changed in the list
itself. Staff-only by Django's permissions (chefs have none on kernel rows)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from foodiefast.mail import mail_retry_now
from foodiefast.models import FeatureFlag, MailMessage, OutboxMessage
from foodiefast.outbox import outbox_retry_now


class StateFilter(admin.SimpleListFilter):
    """A list filter by named states, each a condition on the row."""

    title = _("delivery")
    parameter_name = "state"
    states: dict[str, tuple[str, Q]] = {}

    def lookups(self, request, model_admin):
        return [(value, label) for value, (label, _condition) in self.states.items()]

    def queryset(self, request, queryset):
        state = self.states.get(self.value())
        return queryset.filter(state[1]) if state else queryset


class DeliveryState(StateFilter):
    states = {
        "owed": (_("Not delivered yet"), Q(delivered_at__isnull=True)),
        "failing": (_("Failing"), Q(delivered_at__isnull=True, attempts__gt=0)),
        "delivered": (_("Delivered"), Q(delivered_at__isnull=False)),
    }


class MailState(StateFilter):
    title = _("sending")
    states = {
        "owed": (_("Not sent yet"), Q(sent_at__isnull=True, failed_at__isnull=True)),
        "failing": (_("Failing"), Q(sent_at__isnull=True, failed_at__isnull=True, attempts__gt=0)),
        "refused": (_("Refused for good"), Q(failed_at__isnull=False)),
        "sent": (_("Sent"), Q(sent_at__isnull=False)),
    }


class ReadOnlyAdmin(admin.ModelAdmin):
    ordering = ["-id"]
    show_full_result_count = False
    actions = ["send_again_now"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MailMessage)
class MailMessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "object_id", "recipient", "created_at", "sent_at", "failed_at", "attempts"]
    list_filter = [MailState, "kind"]
    search_fields = ["recipient", "object_id", "last_error"]

    @admin.action(description=_("Send again now (not sent only)"), permissions=["view"])
    def send_again_now(self, request, queryset):
        count = mail_retry_now(message_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, _("%d mail(s) will be sent by the next relay.") % count, messages.SUCCESS)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "event_type", "handler", "created_at", "relayed_at", "delivered_at", "attempts"]
    list_filter = [DeliveryState]
    search_fields = ["event_type", "handler", "last_error"]

    @admin.action(description=_("Send again now (undelivered only)"), permissions=["view"])
    def send_again_now(self, request, queryset):
        count = outbox_retry_now(message_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, _("%d message(s) will be sent by the next relay.") % count, messages.SUCCESS)


@admin.register(FeatureFlag)
class FeatureFlagAdmin(admin.ModelAdmin):
    list_display = ("name", "percent", "description", "updated_at")
    list_editable = ("percent",)
    search_fields = ("name", "description")
    readonly_fields = ("updated_at",)
