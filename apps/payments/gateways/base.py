"""What every payment gateway answers and raises: our own types, never the vendor's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# Provider intent statuses (Stripe's names) the status logic acts on.
REQUIRES_PAYMENT_METHOD = "requires_payment_method"
REQUIRES_CAPTURE = "requires_capture"
SUCCEEDED = "succeeded"
CANCELED = "canceled"


@dataclass(frozen=True)
class Intent:
    """A payment intent as the provider sees it now."""

    id: str
    status: str
    amount_cents: int
    currency: str
    client_secret: str
    amount_received_cents: int = 0
    failure_code: str = ""
    failure_message: str = ""
    reference: str = ""

    def __repr__(self) -> str:  # the client secret stays out of logs and tracebacks
        return f"Intent(id={self.id!r}, status={self.status!r}, amount_cents={self.amount_cents})"


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str
    amount_cents: int
    # Our Refund id when we asked for it (kept in the provider's metadata); empty for
    # a refund made elsewhere (e.g. in the Stripe dashboard).
    our_refund_id: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook event: its id, type and the object it carries."""

    id: str
    type: str
    payload: dict

    @property
    def object(self) -> dict:
        return (self.payload.get("data") or {}).get("object") or {}


class GatewayError(Exception):
    """Base of what a gateway raises; ``code`` is the provider's code when it gave one."""

    def __init__(self, message: str = "", *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class PaymentDeclined(GatewayError):
    """The card was declined (the intent stays payable with another card)."""


class GatewayUnavailable(GatewayError):
    """The provider could not be reached or failed on its side; safe to retry later."""


class GatewayInvalidRequest(GatewayError):
    """The provider refused the request (e.g. the intent is already captured or canceled)."""


class InvalidSignature(Exception):
    """A webhook whose signature, header or timestamp does not check out."""


class Gateway(Protocol):
    name: str

    @property
    def publishable_key(self) -> str: ...

    def create_intent(self, *, payment_id: str, reference: str, amount_cents: int, currency: str) -> Intent: ...

    def retrieve_intent(self, intent_id: str) -> Intent: ...

    def capture_intent(self, intent_id: str, *, payment_id: str) -> Intent: ...

    def cancel_intent(self, intent_id: str, *, payment_id: str) -> Intent: ...

    def refund(self, intent_id: str, *, refund_id: str, amount_cents: int) -> RefundResult: ...

    def list_refunds(self, intent_id: str) -> list[RefundResult]: ...
