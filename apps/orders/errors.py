from django.utils.translation import gettext_lazy as _
from rest_framework import status

from foodiefast.errors import DomainError, InvalidTransition, NotFound


class OrderNotFound(NotFound):
    """No such order, or not the caller's (no existence oracle)."""


class OrderInvalidTransition(InvalidTransition):
    """The order's status does not allow this move (the one map in models.py)."""


class ChefClosed(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "chef_closed"
    detail = _("This kitchen is not taking orders right now.")


class OutOfDeliveryArea(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "out_of_delivery_area"
    detail = _("This kitchen does not deliver to that address.")


class ReviewNotAllowed(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "review_not_allowed"
    detail = _("An order can be reviewed once, after it was delivered.")


class RefundInProgress(DomainError):
    """A refund of the order is being asked of the payment provider right now."""

    status_code = status.HTTP_409_CONFLICT
    code = "refund_in_progress"
    detail = _("This refund is being made right now; look again in a moment.")


class ShareNotFound(NotFound):
    """No live link with this token (never made, or revoked)."""


class ShareExpired(DomainError):
    status_code = status.HTTP_410_GONE
    code = "link_expired"
    detail = _("This live link has expired.")
