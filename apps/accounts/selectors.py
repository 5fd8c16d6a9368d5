"""Reads of accounts."""

from __future__ import annotations

from apps.accounts.models import User, normalize_email


def user_get_by_email(*, email: str) -> User | None:
    """The account with this email (as normalised at sign-up), active or not."""
    return User.objects.filter(email=normalize_email(email)).first()


def staff_list_to_alert() -> list[User]:
    """Active platform staff with an email address: who operational alerts go to."""
    return list(User.objects.filter(is_staff=True, is_active=True, deleted_at__isnull=True).exclude(email=""))
