"""Payments, their refunds and state changes, and the Stripe events received.

A payment belongs to an opaque ``reference`` (the order id, for the orders app) and
holds one provider intent. Money is integer cents; the database refuses a refund
above what was captured, and a capture above what was authorized.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q


class PaymentStatus(models.TextChoices):
    # Created, waiting for the customer to confirm the intent with a card.
    REQUIRES_PAYMENT = "requires_payment", "Waiting for payment"
    # The last card was declined; the same intent stays payable with another card.
    FAILED = "failed", "Declined, still payable"
    AUTHORIZED = "authorized", "Authorized (card hold)"
    CAPTURED = "captured", "Captured"
    CANCELED = "canceled", "Canceled (hold voided)"


# How far along a payment is. A payment only ever moves forward, so events that
# arrive late, twice or out of order cannot take it back to an earlier state.
STATUS_RANK = {
    PaymentStatus.REQUIRES_PAYMENT: 0,
    PaymentStatus.FAILED: 1,
    PaymentStatus.AUTHORIZED: 2,
    PaymentStatus.CAPTURED: 3,
    PaymentStatus.CANCELED: 3,
}
PAYABLE_STATUSES = (PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.FAILED)
FINAL_STATUSES = (PaymentStatus.CAPTURED, PaymentStatus.CANCELED)


class Provider(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    DEMO = "demo", "Demo (no real money)"


class Payment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=64, unique=True, help_text="Opaque id of what is paid (the order id).")
    request_fingerprint = models.CharField(max_length=64, editable=False)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.REQUIRES_PAYMENT)
    provider = models.CharField(max_length=10, choices=Provider.choices)
    provider_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # Handed to the owner's app to confirm the intent; never logged.
    client_secret = models.CharField(max_length=255, blank=True, default="")
    captured_cents = models.PositiveIntegerField(default=0)
    refunded_cents = models.PositiveIntegerField(default=0)
    failure_code = models.CharField(max_length=64, blank=True, default="")
    failure_message = models.CharField(max_length=255, blank=True, default="")
    # Set when the reference died (order cancelled, rejected or expired): whatever
    # authorization comes later is voided.
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    authorized_at = models.DateTimeField(null=True, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=("status", "created_at"), name="payment_status_created")]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(captured_cents__lte=F("amount_cents")), name="payment_capture_le_amount"
            ),
            models.CheckConstraint(
                condition=Q(refunded_cents__lte=F("captured_cents")), name="payment_refund_le_captured"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount_cents / 100:.2f} {self.currency} ({self.status})"

    @property
    def is_payable(self) -> bool:
        return self.status in PAYABLE_STATUSES and self.cancel_requested_at is None

    @property
    def refundable_cents(self) -> int:
        return self.captured_cents - self.refunded_cents


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Refund(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    # Our own key for "this refund": the same key is the same refund, however often asked.
    key = models.CharField(max_length=100)
    amount_cents = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    provider_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    error = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("created_at",)
        constraints = [
            models.UniqueConstraint(fields=("payment", "key"), name="refund_unique_key_per_payment"),
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount_cents / 100:.2f} ({self.status})"


class PaymentTransition(models.Model):
    """The audit trail: one row per state change, with what caused it."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=PaymentStatus.choices)
    to_status = models.CharField(max_length=20, choices=PaymentStatus.choices)
    source = models.CharField(max_length=100)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status} ({self.source})"


class StripeEvent(models.Model):
    """A verified webhook event, stored once however often Stripe delivers it."""

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    intent_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    payment = models.ForeignKey(Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=100, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ("-received_at",)

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"
