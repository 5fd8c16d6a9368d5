"""Reads of accounts."""

from __future__ import annotations

from apps.accounts.models import User, normalize_email


def user_get_by_email(*, email: str) -> User | None:
    """The account with this email (as normalised at sign-up), active or not."""
    return User.objects.filter(email=normalize_email(email)).first()
