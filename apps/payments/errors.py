from django.utils.translation import gettext_lazy as _
from rest_framework import status

from foodiefast.errors import DomainError, InvalidTransition, NotFound


class PaymentNotFound(NotFound):
    detail = _("No payment for this reference.")


class PaymentInvalidAmount(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    detail = _("A payment needs a positive amount in cents and a three-letter currency.")


class PaymentProviderUnavailable(DomainError):
    """Answered 503 with ``Retry-After`` (API.md): nothing changed, ask again."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "payment_provider_unavailable"
    detail = _("The payment provider cannot be reached right now. Try again in a moment.")
    retry_after_seconds = 5

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(self.retry_after_seconds)})


class PaymentNotCapturable(InvalidTransition):
    detail = _("Only an authorized payment can be captured.")


class PaymentNotCancelable(InvalidTransition):
    detail = _("A captured payment cannot be voided; refund it instead.")


class PaymentCaptureFailed(DomainError):
    code = "payment_capture_failed"
    detail = _("The payment provider refused the capture.")


class PaymentNotRefundable(InvalidTransition):
    detail = _("Only a captured payment can be refunded.")


class RefundExceedsCaptured(DomainError):
    code = "refund_exceeds_captured"
    detail = _("The refund is larger than what is left to refund.")


class RefundFailed(DomainError):
    code = "refund_failed"
    detail = _("The payment provider refused the refund.")


class InvalidWebhookSignature(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid_signature"
    detail = _("The Stripe-Signature header is missing, does not match the body, or is too old or too far ahead.")
