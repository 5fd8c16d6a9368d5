"""Reads of accounts."""

from __future__ import annotations

from apps.accounts.models import User


def user_get(*, user_id) -> User | None:
    return User.objects.filter(pk=user_id, is_active=True).first()
