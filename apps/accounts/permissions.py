"""API permissions by role, for every app's views (roles belong to accounts)."""

from rest_framework.permissions import BasePermission

from apps.accounts.models import Role


class IsChef(BasePermission):
    """The chef API (``/api/v1/chef/*``): signed-in chefs only; other roles get 403."""

    message = "Only chefs may use the chef API."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "role", None) == Role.CHEF)


class IsCustomer(BasePermission):
    """Customer operations (``/api/v1/orders``): signed-in customers only; other roles get 403."""

    message = "Only customers may order."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "role", None) == Role.CUSTOMER)


class IsCourier(BasePermission):
    """The courier API (``/api/v1/courier/*``): signed-in couriers only; other roles get 403."""

    message = "Only couriers may use the courier API."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "role", None) == Role.COURIER)
