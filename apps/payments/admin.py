"""Staff see payments with their state changes, Stripe events and refunds. Money
fields are read-only: money moves only through the services (a refund action)."""

from django.contrib import admin, messages

from apps.payments import services
from apps.payments.models import Payment, PaymentStatus, PaymentTransition, Refund, StripeEvent
from foodiefast.errors import DomainError


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TransitionInline(ReadOnlyInline):
    model = PaymentTransition
    fields = readonly_fields = ("at", "from_status", "to_status", "source")


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = readonly_fields = ("created_at", "amount_cents", "status", "provider_refund_id", "error")


class StripeEventInline(ReadOnlyInline):
    model = StripeEvent
    fields = readonly_fields = ("received_at", "stripe_id", "type", "processed_at", "outcome", "attempts", "error")


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("reference", "status", "amount_cents", "captured_cents", "refunded_cents", "currency", "created_at")
    list_filter = ("status", "provider")
    search_fields = ("reference", "provider_intent_id")
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "id",
        "reference",
        "status",
        "amount_cents",
        "currency",
        "captured_cents",
        "refunded_cents",
        "provider",
        "provider_intent_id",
        "failure_code",
        "failure_message",
        "cancel_requested_at",
        "authorized_at",
        "captured_at",
        "canceled_at",
        "last_synced_at",
        "created_at",
        "updated_at",
    )
    inlines = (TransitionInline, RefundInline, StripeEventInline)
    actions = ("refund_what_is_left", "sync_from_provider")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Refund what is left of the captured amount")
    def refund_what_is_left(self, request, queryset):
        for payment in queryset:
            if payment.status != PaymentStatus.CAPTURED or payment.refundable_cents <= 0:
                self.message_user(request, f"{payment.reference}: nothing to refund.", messages.WARNING)
                continue
            try:
                refund = services.payment_refund(
                    reference=payment.reference, key=f"admin-full-{payment.refunded_cents}"
                )
            except DomainError as exc:
                self.message_user(request, f"{payment.reference}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{payment.reference}: refunded {refund.amount_cents / 100:.2f} {payment.currency}."
                )

    @admin.action(description="Ask the provider again (sync)")
    def sync_from_provider(self, request, queryset):
        for payment in queryset:
            try:
                synced = services.payment_sync_from_provider(payment_id=payment.pk, source="admin")
            except DomainError as exc:
                self.message_user(request, f"{payment.reference}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, f"{payment.reference}: {synced.get_status_display()}.")


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ("stripe_id", "type", "received_at", "processed_at", "outcome", "attempts")
    list_filter = ("type",)
    search_fields = ("stripe_id", "intent_id")
    readonly_fields = [f.name for f in StripeEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
