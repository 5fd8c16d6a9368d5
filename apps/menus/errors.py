from django.utils.translation import gettext_lazy as _
from rest_framework import status

from foodiefast.errors import DomainError


class SoldOut(DomainError):
    """Fewer portions left than asked; carries ``dish_id`` and ``portions_left``."""

    status_code = status.HTTP_409_CONFLICT
    code = "sold_out"
    detail = _("Not enough portions are left.")


class DishUnavailable(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "dish_unavailable"
    detail = _("This dish cannot be ordered right now.")
