from rest_framework import status

from foodiefast.errors import DomainError


class KitchenIncomplete(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "kitchen_incomplete"
    detail = "A kitchen needs a location (lat, lng) before it can be approved."


class KitchenNotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    detail = "Not found."
