"""The admin site: platform staff, and chefs by their role.

A chef runs their kitchen in the admin without anyone assigning permissions by hand:
the site lets active chef accounts in, and the ModelAdmins of chefs and menus scope
what they see to their own rows (``apps.chefs.admin.ChefOwnedAdminMixin``). Every other
ModelAdmin keeps Django's permission checks, so a chef sees none of it (users
included).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.db import models
from django.views.decorators.debug import sensitive_variables

from apps.accounts import services
from apps.accounts.errors import InvalidCredentials, LoginThrottled
from apps.accounts.models import Role
from foodiefast.http import client_ip


def https_formfield(db_field, **kwargs):
    """``Meta.formfield_callback`` of admin ModelForms: a link typed without a scheme
    is https (Django 6's default, chosen now)."""
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


def may_use_admin(user) -> bool:
    return bool(user and user.is_active and (user.is_staff or getattr(user, "role", None) == Role.CHEF))


def is_kitchen_chef(user) -> bool:
    """A chef (not staff) using the admin: sees only their own kitchen."""
    return bool(user and user.is_active and not user.is_staff and getattr(user, "role", None) == Role.CHEF)


class RoleAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login under the API's sign-in rule (``services.auth_check_credentials``):
    failures here and on ``POST /auth/token`` count toward one per-account budget, and a
    locked account is refused here too, the right password included."""

    @sensitive_variables()
    def clean(self):
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is not None and password:
            try:
                self.user_cache = services.auth_check_credentials(
                    email=email, password=password, client_ip=client_ip(self.request)
                )
            except LoginThrottled as exc:
                raise ValidationError(exc.detail, code="throttled") from exc
            except InvalidCredentials as exc:
                raise self.get_invalid_login_error() from exc
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

    def confirm_login_allowed(self, user) -> None:
        if not may_use_admin(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class FoodieFastAdminSite(admin.AdminSite):
    site_header = "FoodieFast kitchen"
    site_title = "FoodieFast"
    index_title = "Your kitchen"
    login_form = RoleAdminAuthenticationForm

    def has_permission(self, request) -> bool:
        return may_use_admin(request.user)
