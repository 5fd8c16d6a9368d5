from django.utils.translation import gettext_lazy as _
from rest_framework import status

from foodiefast.errors import DomainError, InvalidTransition, NotFound, ServiceUnavailable


class DeliveryNotFound(NotFound):
    """No such delivery, or not one this courier may act on (no existence oracle)."""


class DeliveryInvalidTransition(InvalidTransition):
    detail = _("This step is not possible in the delivery's current status.")


class AlreadyClaimed(DomainError):
    code = "already_claimed"
    detail = _("Another courier already claimed this delivery.")


class CourierBusy(DomainError):
    code = "courier_busy"
    detail = _("You already hold an active delivery; deliver or release it first.")


class CourierOffDuty(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "courier_off_duty"
    detail = _("You are offline and hold no delivery: go online to share your position.")


class PositionsUnavailable(ServiceUnavailable):
    """Redis, where the newest positions live, is unreachable."""

    detail = _("Positions cannot be recorded right now; try again shortly.")
