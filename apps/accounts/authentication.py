"""The API's authentication: simplejwt's bearer tokens and checks, with the user
read by primary key in plain SQL (:mod:`foodiefast.rows`). Every API request reads
its user, and building the ORM's query for it cost more CPU than the query itself.
Everything else is simplejwt's own ``get_user``: the user must exist and be active,
and with ``CHECK_REVOKE_TOKEN`` the token's digest of the password hash must match
(erasing an account or changing its password revokes every token)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication

from apps.accounts.models import User
from foodiefast.rows import get_by_pk


class _Users:
    """What simplejwt's ``get_user`` uses of the user model: ``objects.get(id=...)``
    and ``DoesNotExist``."""

    DoesNotExist = User.DoesNotExist

    class objects:
        @staticmethod
        def get(**lookup: Any) -> User:
            ((field, value),) = lookup.items()
            if field in ("pk", User._meta.pk.name):  # USER_ID_FIELD, the primary key here
                return get_by_pk(User, value)
            return User.objects.get(**lookup)


class JWTAuthentication(authentication.JWTAuthentication):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user_model = _Users


class JWTScheme(SimpleJWTScheme):
    """Its OpenAPI security scheme: simplejwt's own (``jwtAuth``)."""

    target_class = "apps.accounts.authentication.JWTAuthentication"
