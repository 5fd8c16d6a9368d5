"""Orders, their lines (snapshots of the dishes at checkout), their timeline and reviews.

Money is integer cents in ``currency``, VAT included everywhere. The one map of
allowed status moves is :data:`TRANSITIONS`; every move writes an :class:`OrderEvent`
row (the timeline). Timers live here as columns (``payment_due_at``, ``accept_by``)
that beat sweeps.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.chefs.models import Kitchen
from apps.menus.models import Dish
from foodiefast.formatting import vat_split

MAX_QUANTITY = 20
# VAT rates in basis points (1000 = 10 %): prepared food delivered for immediate
# consumption, then the delivery and service fees; the tip carries none.
VAT_FOOD_BP = 1000
VAT_FEES_BP = 2000


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Waiting for payment")
    PAID = "paid", _("Paid (authorized)")
    ACCEPTED = "accepted", _("Accepted")
    READY_FOR_PICKUP = "ready_for_pickup", _("Ready for pickup")
    PICKED_UP = "picked_up", _("Picked up")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


S = OrderStatus
# The one map of allowed moves. Customers cancel only before acceptance
# (CUSTOMER_CANCELLABLE); staff may cancel (and refund) an accepted order too.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.ACCEPTED, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.READY_FOR_PICKUP, S.CANCELLED}),
    S.READY_FOR_PICKUP: frozenset({S.PICKED_UP, S.CANCELLED}),
    S.PICKED_UP: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
}
CUSTOMER_CANCELLABLE = frozenset({S.PENDING_PAYMENT, S.PAID})
# Open orders count against a kitchen's max_open_orders; chefs see theirs from paid on.
OPEN_STATUSES = frozenset({S.PENDING_PAYMENT, S.PAID, S.ACCEPTED, S.READY_FOR_PICKUP})
CHEF_VISIBLE_STATUSES = frozenset({S.PAID, S.ACCEPTED, S.READY_FOR_PICKUP, S.PICKED_UP, S.DELIVERED, S.CANCELLED})
FINAL_STATUSES = frozenset({S.DELIVERED, S.CANCELLED})


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS[current]


class Actor(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    CHEF = "chef", _("Chef")
    STAFF = "staff", _("Staff")
    PAYMENT = "payment", _("Payment provider")
    COURIER = "courier", _("Courier")
    SYSTEM = "system", _("Timer")


class MoneyOutcome(models.TextChoices):
    """What happened to the customer's money when an order was cancelled."""

    NONE = "none", _("No payment was made")
    VOIDED = "voided", _("Card authorization voided")
    REFUNDED = "refunded", _("Refunded")


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    kitchen = models.ForeignKey(Kitchen, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT)
    # Money, VAT included, in minor units of `currency`.
    subtotal_cents = models.PositiveIntegerField()
    delivery_fee_cents = models.PositiveIntegerField()
    service_fee_cents = models.PositiveIntegerField()
    tip_cents = models.PositiveIntegerField(default=0)
    total_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="EUR")
    # Personal data, anonymised when the customer erases their account.
    customer_name = models.CharField(max_length=150, blank=True, default="")
    delivery_address = models.CharField(max_length=255)
    delivery_lat = models.FloatField()
    delivery_lng = models.FloatField()
    delivery_instructions = models.CharField(max_length=500, blank=True, default="")
    delivery_phone = models.CharField(max_length=32, blank=True, default="")
    # The client's Idempotency-Key and a digest of its request, unique per customer.
    idempotency_key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    prep_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    # A lease on starting the payment: one request creates the PaymentIntent while its
    # concurrent replays wait for it (no lock is held while the provider is called).
    payment_claimed_until = models.DateTimeField(null=True, blank=True)
    # Timers swept by beat: an unpaid order expires, a paid one must be accepted in time.
    payment_due_at = models.DateTimeField()
    accept_by = models.DateTimeField(null=True, blank=True)
    # The local day the portions were taken from, and when they were given back (once).
    stock_date = models.DateField()
    portions_released_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=10, choices=Actor.choices, blank=True, default="")
    cancellation_reason = models.CharField(max_length=500, blank=True, default="")
    money_outcome = models.CharField(max_length=10, choices=MoneyOutcome.choices, blank=True, default="")
    anonymised_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="orders_customer_created"),
            models.Index(fields=["kitchen", "status", "-created_at"], name="orders_kitchen_status"),
            # The sweeps' scans: only orders whose timer is running.
            models.Index(
                fields=["payment_due_at"], name="orders_payment_due", condition=Q(status=OrderStatus.PENDING_PAYMENT)
            ),
            models.Index(fields=["accept_by"], name="orders_accept_by", condition=Q(status=OrderStatus.PAID)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["customer", "idempotency_key"], name="orders_unique_key_per_customer"),
            models.CheckConstraint(
                condition=Q(
                    total_cents=F("subtotal_cents") + F("delivery_fee_cents") + F("service_fee_cents") + F("tip_cents")
                ),
                name="orders_total_is_the_sum",
            ),
            models.CheckConstraint(condition=Q(subtotal_cents__gte=1), name="orders_subtotal_positive"),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="orders_status_known"),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk} ({self.status})"

    @property
    def number(self) -> str:
        """The reference people read and quote (emails, the chef's board): the first 8
        characters of the id, so the id in the API and the admin starts with it."""
        return str(self.pk)[:8]

    @property
    def first_name(self) -> str:
        return self.customer_name.split(" ")[0] if self.customer_name else ""

    def vat_split(self) -> list[dict[str, int | float]]:
        """What a receipt shows: per VAT rate, the amount it applies to (VAT
        included) and the VAT in it, rounded half up to the cent once per rate
        (:func:`foodiefast.formatting.vat_split`). The tip carries none."""
        fees = Decimal(VAT_FEES_BP) / 100
        shares = vat_split(
            [(Decimal(line.vat_rate_bp) / 100, line.line_total_cents) for line in self.lines.all()]
            + [(fees, self.delivery_fee_cents), (fees, self.service_fee_cents)]
        )
        return [
            {"rate": float(share.rate), "amount_cents": share.total_cents, "vat_cents": share.vat_cents}
            for share in shares
        ]


class OrderLine(models.Model):
    """A dish as it was at checkout: name, unit price, allergens and VAT rate."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    dish = models.ForeignKey(Dish, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    unit_price_cents = models.PositiveIntegerField()
    quantity = models.PositiveSmallIntegerField()
    allergens = models.JSONField(default=list, help_text="EU allergen codes declared at checkout")
    vat_rate_bp = models.PositiveSmallIntegerField(default=VAT_FOOD_BP, help_text="VAT rate in basis points")
    line_total_cents = models.PositiveIntegerField()

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1, quantity__lte=MAX_QUANTITY), name="orders_line_quantity_range"
            ),
            models.CheckConstraint(
                condition=Q(line_total_cents=F("unit_price_cents") * F("quantity")), name="orders_line_total"
            ),
            models.CheckConstraint(condition=Q(vat_rate_bp__lte=10000), name="orders_line_vat_rate_range"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"

    @property
    def vat_rate(self) -> float:
        """The VAT rate in percent (10.0)."""
        return self.vat_rate_bp / 100


class OrderEvent(models.Model):
    """The audit trail: one row per status change, who or what caused it, and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=OrderStatus.choices)
    at = models.DateTimeField()
    actor = models.CharField(max_length=10, choices=Actor.choices)
    reason = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ("at", "id")
        indexes = [models.Index(fields=["order", "at"], name="orders_event_order_at")]

    def __str__(self) -> str:
        return f"{self.status} at {self.at:%Y-%m-%d %H:%M:%S} ({self.actor})"


class Review(models.Model):
    """One per delivered order."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="review")
    kitchen = models.ForeignKey(Kitchen, on_delete=models.PROTECT, related_name="reviews")
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True, default="", max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="orders_review_rating")]

    def __str__(self) -> str:
        return f"{self.rating}/5 for {self.order_id}"


# The key payments knows an order's refund by (``OrderRefund.payment_key``).
REFUND_KEY_PREFIX = "order-refund-"


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Being made"
    SUCCEEDED = "succeeded", "Refunded"
    FAILED = "failed", "Refused"


class OrderRefund(models.Model):
    """Money given back after the order left the kitchen (a support case), in full or
    in part: who asked, why, how much, what the provider said. Part of the order's
    audit, not of its timeline (the order's status does not change). Its id names the
    refund at payments (``payment_key``): the same refund asked twice is made once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    # What was asked, in cents of the order's currency (null: everything left to refund).
    requested_cents = models.PositiveIntegerField(null=True, blank=True)
    refunded_cents = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="EUR")
    reason = models.CharField(max_length=500)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    error = models.CharField(max_length=255, blank=True, default="")
    payment_refund_id = models.CharField(max_length=64, blank=True, default="")
    # A lease on calling the provider: a second click while the first is under way waits.
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"refund of {self.order_id} ({self.status})"

    @property
    def payment_key(self) -> str:
        return f"{REFUND_KEY_PREFIX}{self.pk}"


class OrderShare(models.Model):
    """A live link to an order's tracking page that its customer can send to anyone.

    The token is kept as is, not hashed: the customer asking again must get the same
    link back (API.md: 200 with the same link), which a hash cannot give. It is only
    as secret as the rows next to it (the order's address is more sensitive than a
    link that shows rounded points and dies an hour after the order ends), and it is
    compared in the database through its unique index, not in Python. Revoking the
    link deletes the row."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="share")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Share of order {self.order_id}"
