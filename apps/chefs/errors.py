from django.utils.translation import gettext_lazy as _
from rest_framework import status

from foodiefast.errors import DomainError, InvalidInput


class KitchenIncomplete(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "kitchen_incomplete"
    detail = _("A kitchen needs a location (lat, lng) before it can be approved.")


class KitchenNotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    detail = _("Not found.")


class LocationHalfGiven(InvalidInput):
    """``lat`` without ``lng`` or the other way round (400 ``invalid``, on ``lat``)."""

    detail = _("Give lat and lng together.")


class OpeningHoursInvalid(InvalidInput):
    """A slot that is not ``HH:MM`` to a later ``HH:MM`` of one day, or slots of one
    weekday that overlap (400 ``invalid``)."""

    detail = _("Invalid opening hours.")
