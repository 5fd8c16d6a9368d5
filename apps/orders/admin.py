"""Staff see orders with their lines, timeline and refunds (read-only: orders change
only through the services). Cancelling an order (a support case, in any status before
pickup, from the list or the order's page) voids or refunds its payment through the
same service as everywhere else; a picked-up or delivered order is refunded instead,
in full or in part, from its page ("Refund"). The order board (chefs and staff) is in
:mod:`apps.orders.admin_board`."""

import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from apps.accounts.admin_site import add_admin_page
from apps.orders import admin_board, services
from apps.orders.models import Order, OrderEvent, OrderLine, OrderRefund, Review
from apps.orders.services.refunds import REFUNDABLE_STATUSES
from apps.payments.errors import PaymentNotFound
from apps.payments.selectors import payment_get
from foodiefast.admin_fields import admin_names, money_column
from foodiefast.errors import DomainError
from foodiefast.formatting import money

admin_names(
    Order,
    singular=gettext_lazy("order"),
    plural=gettext_lazy("orders"),
    fields={
        "status": gettext_lazy("status"),
        "customer": gettext_lazy("customer"),
        "kitchen": gettext_lazy("kitchen"),
        "currency": gettext_lazy("currency"),
        "customer_name": gettext_lazy("customer's name"),
        "delivery_address": gettext_lazy("delivery address"),
        "delivery_instructions": gettext_lazy("delivery instructions"),
        "prep_minutes": gettext_lazy("preparation time (minutes)"),
        "payment_due_at": gettext_lazy("payment due at"),
        "accept_by": gettext_lazy("accept by"),
        "cancelled_by": gettext_lazy("cancelled by"),
        "cancellation_reason": gettext_lazy("reason for cancelling"),
        "money_outcome": gettext_lazy("money"),
        "created_at": gettext_lazy("placed at"),
    },
)
admin_names(
    OrderLine,
    singular=gettext_lazy("line"),
    plural=gettext_lazy("lines"),
    fields={
        "name": gettext_lazy("dish"),
        "quantity": gettext_lazy("quantity"),
        "allergens": gettext_lazy("allergens"),
        "vat_rate_bp": gettext_lazy("VAT rate"),
    },
)
admin_names(
    OrderEvent,
    singular=gettext_lazy("step"),
    plural=gettext_lazy("timeline"),
    fields={
        "at": gettext_lazy("at"),
        "status": gettext_lazy("status"),
        "actor": gettext_lazy("by"),
        "reason": gettext_lazy("reason"),
    },
)
admin_names(
    Review,
    singular=gettext_lazy("review"),
    plural=gettext_lazy("reviews"),
    fields={
        "order": gettext_lazy("order"),
        "kitchen": gettext_lazy("kitchen"),
        "rating": gettext_lazy("rating"),
        "comment": gettext_lazy("comment"),
        "created_at": gettext_lazy("written at"),
    },
)

add_admin_page(
    app_label="orders",
    app_name=gettext_lazy("Orders"),
    title=gettext_lazy("Order board"),
    url_name="orders_board",
    urls=admin_board.URLS,
    visible=admin_board.board_visible,
)


class StaffCancelForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("reason"),
        max_length=500,
        strip=True,
        help_text=gettext_lazy("Kept on the order's timeline; the customer is told why."),
    )


class StaffRefundForm(forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount (euros)"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=9,
        decimal_places=2,
        help_text=gettext_lazy("Leave empty to refund everything that is left."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=500,
        strip=True,
        help_text=gettext_lazy("Kept with the refund; the customer is told why."),
    )
    # Names this refund: the same form sent twice (a double click, a reload) refunds once.
    refund_id = forms.UUIDField(widget=forms.HiddenInput)

    def amount_cents(self) -> int | None:
        amount = self.cleaned_data["amount"]
        return None if amount is None else int(amount * 100)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LineInline(ReadOnlyInline):
    model = OrderLine
    fields = readonly_fields = (
        "name",
        "quantity",
        money_column("unit_price_cents", gettext_lazy("unit price")),
        money_column("line_total_cents", gettext_lazy("total")),
        "allergens",
        "vat_rate_bp",
    )


class TimelineInline(ReadOnlyInline):
    model = OrderEvent
    fields = readonly_fields = ("at", "status", "actor", "reason")


class RefundInline(ReadOnlyInline):
    model = OrderRefund
    verbose_name = gettext_lazy("refund")
    verbose_name_plural = gettext_lazy("refunds (support, after pickup)")
    fields = readonly_fields = ("created_at", "amount", "status", "reason", "requested_by", "error")

    @admin.display(description=gettext_lazy("amount"))
    def amount(self, refund: OrderRefund) -> str:
        cents = refund.refunded_cents or refund.requested_cents
        return money(cents, refund.currency, language=get_language()) if cents else _("everything left")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "kitchen", money_column("total_cents", gettext_lazy("total")), "created_at")
    list_filter = ("status",)
    search_fields = ("id", "kitchen__display_name", "customer__email")
    list_select_related = ("kitchen",)
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "id",
        "status",
        "customer",
        "kitchen",
        money_column("subtotal_cents", gettext_lazy("dishes")),
        money_column("delivery_fee_cents", gettext_lazy("delivery fee")),
        money_column("service_fee_cents", gettext_lazy("service fee")),
        money_column("tip_cents", gettext_lazy("tip")),
        money_column("total_cents", gettext_lazy("total")),
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
    inlines = (LineInline, TimelineInline, RefundInline)
    actions = ("cancel_and_refund",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=gettext_lazy("Cancel (voiding or refunding the payment)"))
    def cancel_and_refund(self, request, queryset):
        for order in queryset:
            self._cancel(request, order, reason=_("Cancelled by support (%(user)s).") % {"user": request.user})

    def _cancel(self, request, order: Order, *, reason: str) -> bool:
        try:
            cancelled = services.order_cancel_by_staff(order_id=order.pk, reason=reason)
        except DomainError as exc:
            self.message_user(request, f"{order.pk}: {exc.detail}", messages.ERROR)
            return False
        cancelled.refresh_from_db()
        outcome = cancelled.get_money_outcome_display() or _("money being settled")
        self.message_user(
            request,
            _("%(order)s: cancelled (%(outcome)s).") % {"order": order.pk, "outcome": outcome},
            messages.SUCCESS,
        )
        return True

    def get_urls(self):
        cancel = self.admin_site.admin_view(self.cancel_view)
        refund = self.admin_site.admin_view(self.refund_view)
        return [
            path("<path:object_id>/cancel/", cancel, name="orders_order_cancel"),
            path("<path:object_id>/refund/", refund, name="orders_order_refund"),
            *super().get_urls(),
        ]

    def _staff_order(self, request, object_id) -> Order:
        """The order a staff page acts on: 403 for anyone but staff, 404 for no order."""
        if not request.user.is_staff:
            raise PermissionDenied
        order = self.get_object(request, object_id)
        if order is None or not self.has_view_permission(request, order):
            raise Http404(_("No such order."))
        return order

    def cancel_view(self, request, object_id):
        """The order page's "Cancel and refund": a reason, then the staff cancel."""
        order = self._staff_order(request, object_id)
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        form = StaffCancelForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            self._cancel(request, order, reason=form.cleaned_data["reason"])
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Cancel and refund this order"),
            "opts": self.opts,
            "original": order,
            "total": money(order.total_cents, order.currency),
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/orders/order/cancel.html", context)

    def refund_view(self, request, object_id):
        """The order page's "Refund" (picked-up or delivered orders): an amount (all
        that is left by default) and a reason, then the staff refund; the provider's
        refusals and outages show as messages."""
        order = self._staff_order(request, object_id)
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        form = StaffRefundForm(request.POST or None, initial={"refund_id": uuid.uuid4()})
        if request.method == "POST" and form.is_valid():
            try:
                refund = services.order_refund_by_staff(
                    order_id=order.pk,
                    refund_id=form.cleaned_data["refund_id"],
                    staff=request.user,
                    reason=form.cleaned_data["reason"],
                    amount_cents=form.amount_cents(),
                )
            except DomainError as exc:
                self.message_user(request, f"{order.number}: {exc.detail}", messages.ERROR)
            else:
                amount = money(refund.refunded_cents, refund.currency, language=get_language())
                done = _("%(number)s: %(amount)s refunded.") % {"number": order.number, "amount": amount}
                self.message_user(request, done, messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        try:
            payment = payment_get(reference=str(order.pk))
        except PaymentNotFound:
            payment = None
        language = get_language()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Refund this order"),
            "opts": self.opts,
            "original": order,
            "form": form,
            "change_url": change_url,
            "refundable": order.status in REFUNDABLE_STATUSES,
            "total": money(order.total_cents, order.currency, language=language),
            "captured": money(payment.captured_cents, payment.currency, language=language) if payment else None,
            "refunded": money(payment.refunded_cents, payment.currency, language=language) if payment else None,
            "left": money(payment.refundable_cents, payment.currency, language=language) if payment else None,
            "refunds": [
                (refund, money(refund.refunded_cents, refund.currency, language=language))
                for refund in order.refunds.select_related("requested_by")
            ],
        }
        return TemplateResponse(request, "admin/orders/order/refund.html", context)


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ("order", "kitchen", "rating", "created_at")
    fields = readonly_fields = ("order", "kitchen", "rating", "comment", "created_at")

    def has_add_permission(self, request):
        return False
