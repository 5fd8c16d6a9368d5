"""What chefs does when a lower app announces something."""

from __future__ import annotations

from apps.accounts.events import UserErased, UserRegistered
from apps.accounts.models import Role
from apps.chefs.services import kitchen_ensure_for_user_id, kitchen_withdraw_for_user_id


def open_kitchen_on_chef_registered(event: UserRegistered) -> None:
    """A chef signed up: open their kitchen, unapproved (idempotent)."""
    if event.role == Role.CHEF:
        kitchen_ensure_for_user_id(user_id=event.user_id)


def withdraw_kitchen_on_user_erased(event: UserErased) -> None:
    """An erased chef's kitchen is no longer listed (idempotent)."""
    kitchen_withdraw_for_user_id(user_id=event.user_id)
