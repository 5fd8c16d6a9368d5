"""What payments announces. ``reference`` is the opaque id the payment was started
for (the order id); handlers look their own object up by it."""

from dataclasses import dataclass

from foodiefast.events import Event


@dataclass(frozen=True)
class PaymentAuthorized(Event):
    reference: str
    payment_id: str
    amount_cents: int
    currency: str


@dataclass(frozen=True)
class PaymentCaptured(Event):
    reference: str
    payment_id: str
    amount_cents: int
    currency: str


@dataclass(frozen=True)
class PaymentFailed(Event):
    """The card was declined; the payment stays payable with another card."""

    reference: str
    payment_id: str
    failure_code: str


@dataclass(frozen=True)
class PaymentCanceled(Event):
    """The authorization was voided (or the payment dropped before any card)."""

    reference: str
    payment_id: str


@dataclass(frozen=True)
class PaymentRefunded(Event):
    reference: str
    payment_id: str
    refund_id: str
    amount_cents: int
    refunded_total_cents: int
    currency: str
