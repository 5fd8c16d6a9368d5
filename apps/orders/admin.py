"""Staff see orders with their lines and timeline (read-only: orders change only
through the services). Cancelling an order (a support case, in any status before
pickup, from the list or the order's page) voids or refunds its payment through the
same service as everywhere else. The order board (chefs and staff) is in
:mod:`apps.orders.admin_board`."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.accounts.admin_site import add_admin_page
from apps.orders import admin_board, services
from apps.orders.models import Order, OrderEvent, OrderLine, Review
from foodiefast.errors import DomainError

add_admin_page(
    app_label="orders",
    app_name="Orders",
    title="Order board",
    url_name="orders_board",
    urls=admin_board.URLS,
    visible=admin_board.board_visible,
)


class StaffCancelForm(forms.Form):
    reason = forms.CharField(
        max_length=500, strip=True, help_text="Kept on the order's timeline; the customer is told why."
    )


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
            self._cancel(request, order, reason=f"Cancelled by support ({request.user}).")

    def _cancel(self, request, order: Order, *, reason: str) -> bool:
        try:
            cancelled = services.order_cancel_by_staff(order_id=order.pk, reason=reason)
        except DomainError as exc:
            self.message_user(request, f"{order.pk}: {exc.detail}", messages.ERROR)
            return False
        cancelled.refresh_from_db()
        outcome = cancelled.get_money_outcome_display() or "money being settled"
        self.message_user(request, f"{order.pk}: cancelled ({outcome}).", messages.SUCCESS)
        return True

    def get_urls(self):
        cancel = self.admin_site.admin_view(self.cancel_view)
        return [path("<path:object_id>/cancel/", cancel, name="orders_order_cancel"), *super().get_urls()]

    def cancel_view(self, request, object_id):
        """The order page's "Cancel and refund": a reason, then the staff cancel."""
        if not request.user.is_staff:
            raise PermissionDenied
        order = self.get_object(request, object_id)
        if order is None or not self.has_view_permission(request, order):
            raise Http404("No such order.")
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        form = StaffCancelForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            self._cancel(request, order, reason=form.cleaned_data["reason"])
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": "Cancel and refund this order",
            "opts": self.opts,
            "original": order,
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/orders/order/cancel.html", context)


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ("order", "kitchen", "rating", "created_at")
    fields = readonly_fields = ("order", "kitchen", "rating", "comment", "created_at")

    def has_add_permission(self, request):
        return False
