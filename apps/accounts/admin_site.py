"""The admin site: platform staff, and chefs by their role.

A chef runs their kitchen in the admin without anyone assigning permissions by hand:
the site lets active chef accounts in, and the ModelAdmins of chefs and menus (and of
any app with rows a chef owns) scope what they see to their own rows
(:class:`ChefOwnedAdminMixin`). Every other ModelAdmin keeps Django's permission
checks, so a chef sees none of it (users included).

Every app's admin uses this module, as it uses another app's services: the admin
writes through the services and shows their domain errors on the form
(:func:`add_domain_error`); a higher app adds its rows to a lower app's page with
:func:`add_inline` (menus puts dishes on the kitchen page) instead of the lower app
importing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import URLPattern, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from apps.accounts import services
from apps.accounts.errors import InvalidCredentials, LoginThrottled
from apps.accounts.models import Role
from foodiefast.admin_fields import MoneyField, MoneyInput
from foodiefast.errors import DomainError
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
    site_header = _("FoodieFast kitchen")
    site_title = "FoodieFast"
    index_title = _("Your kitchen")
    site_url = None  # the site is the apps: no "View site" link to an API path
    login_form = RoleAdminAuthenticationForm

    def has_permission(self, request) -> bool:
        return may_use_admin(request.user)

    def get_urls(self):
        # A higher app's own pages (the order board) come first, behind the admin's login.
        own = [
            URLPattern(pattern.pattern, self.admin_view(pattern.callback), pattern.default_args, pattern.name)
            for page in _pages
            for pattern in page.urls
        ]
        return own + super().get_urls()

    def get_app_list(self, request, app_label=None):
        """Django's list of apps and models, plus the pages of :func:`add_admin_page`
        the user may open, under their app (shown on the index and in the sidebar)."""
        apps = super().get_app_list(request, app_label)
        for page in _pages:
            if app_label not in (None, page.app_label) or not page.visible(request):
                continue
            url = reverse(f"{self.name}:{page.url_name}")
            app = next((app for app in apps if app["app_label"] == page.app_label), None)
            if app is None:
                app = {"name": page.app_name, "app_label": page.app_label, "app_url": url, "has_module_perms": True}
                app["models"] = []
                apps.append(app)
            entry = {"name": page.title, "object_name": page.url_name, "admin_url": url, "add_url": None}
            app["models"].insert(0, {**entry, "view_only": True, "perms": {"view": True}})
        return sorted(apps, key=lambda app: app["name"].lower())


def add_domain_error(form: forms.BaseForm, error: DomainError) -> None:
    """Show a service's domain error on an admin form: each of its ``fields`` the form
    has on that field, anything else above the form."""
    fields = error.extra.get("fields") or {}
    shown = False
    for name, messages in fields.items():
        if name in form.fields:
            form.add_error(name, list(messages))
            shown = True
    if not shown:
        form.add_error(None, error.detail)


def adopt_saved(obj: models.Model, saved: models.Model) -> None:
    """The admin's object becomes the row a service wrote (its id and fields), so the
    admin's log, messages and redirect point at that row."""
    obj.pk = saved.pk
    obj.refresh_from_db()
    obj._state.adding = False


class BackOfficeMixin:
    """ModelAdmin/InlineModelAdmin forms for people: integer ``*_cents`` fields are
    typed and shown in euros (``16,50`` → 1650, :class:`~foodiefast.admin_fields.MoneyField`),
    decimals in the reader's way (``48,8566`` in French), and ``field_options`` gives
    a field's form options by name: a help text in the reader's language, or a limit
    (``min_value``, ``min_cents``) that makes the form refuse what a database
    constraint would, so a person reads a form error instead of a database one."""

    field_options: dict[str, dict] = {}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        kwargs = {**self.field_options.get(db_field.name, {}), **kwargs}
        if isinstance(db_field, models.IntegerField) and db_field.name.endswith("_cents") and not db_field.choices:
            kwargs.setdefault("form_class", MoneyField)
            kwargs.setdefault("widget", MoneyInput)  # not the admin's number input
        elif isinstance(db_field, models.FloatField):
            kwargs.setdefault("localize", True)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class ChefOwnedAdminMixin(BackOfficeMixin):
    """Role-aware ModelAdmin/InlineModelAdmin: for a chef (not staff), querysets are
    filtered to rows they own (``chef_field`` is the lookup from the model to the
    owning user) and rights come from the role; staff keep Django's permissions.
    Another chef's object is simply not in the queryset, so its URL leads nowhere."""

    chef_field = "chef"
    chef_may_add = False
    chef_may_delete = False
    # Fields and list columns a chef's pages leave out: a choice they do not have
    # (their kitchen on their own dish), or themselves.
    hidden_from_chef: tuple[str, ...] = ()
    # Photo links typed without a scheme are https (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if is_kitchen_chef(request.user):
            queryset = queryset.filter(**{self.chef_field: request.user})
        return queryset

    def _owner_id(self, obj):
        *path, last = self.chef_field.split("__")
        for step in path:
            obj = getattr(obj, step)
        return getattr(obj, f"{last}_id")

    def _chef_owns(self, request, obj) -> bool:
        return obj is None or self._owner_id(obj) == request.user.pk

    def has_module_permission(self, request):
        return True if is_kitchen_chef(request.user) else super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        if is_kitchen_chef(request.user):
            return self._chef_owns(request, obj)
        return super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        if is_kitchen_chef(request.user):
            return self._chef_owns(request, obj)
        return super().has_change_permission(request, obj)

    def has_add_permission(self, request, *args):
        if is_kitchen_chef(request.user):
            return self.chef_may_add
        return super().has_add_permission(request, *args)

    def has_delete_permission(self, request, obj=None):
        if is_kitchen_chef(request.user):
            return self.chef_may_delete and self._chef_owns(request, obj)
        return super().has_delete_permission(request, obj)

    def get_inlines(self, request, obj):
        return [*super().get_inlines(request, obj), *inlines_added_to(self.model)]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not (self.hidden_from_chef and is_kitchen_chef(request.user)):
            return fieldsets
        return [
            (title, {**options, "fields": tuple(f for f in options["fields"] if f not in self.hidden_from_chef)})
            for title, options in fieldsets
        ]

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        if not (self.hidden_from_chef and is_kitchen_chef(request.user)):
            return columns
        return tuple(column for column in columns if column not in self.hidden_from_chef)


# Inlines higher apps add to a lower app's page, by the page's model.
_added_inlines: dict[type[models.Model], list[type[admin.options.InlineModelAdmin]]] = {}


def add_inline(model: type[models.Model], inline: type[admin.options.InlineModelAdmin]) -> None:
    """Show ``inline`` on the change page of ``model`` (a lower app's model), when its
    ModelAdmin uses :class:`ChefOwnedAdminMixin`."""
    inlines = _added_inlines.setdefault(model, [])
    if inline not in inlines:
        inlines.append(inline)


def inlines_added_to(model: type[models.Model]) -> list[type[admin.options.InlineModelAdmin]]:
    return list(_added_inlines.get(model, ()))


@dataclass(frozen=True)
class AdminPage:
    """A page of a higher app in the admin that is not a model's (the order board)."""

    app_label: str
    app_name: str
    title: str
    url_name: str
    urls: tuple[URLPattern, ...]
    visible: Callable[[object], bool]


_pages: list[AdminPage] = []


def add_admin_page(
    *,
    app_label: str,
    app_name: str,
    title: str,
    url_name: str,
    urls: list[URLPattern],
    visible: Callable[[object], bool] = lambda request: True,
) -> None:
    """Serve ``urls`` in the admin (relative to ``/admin/``, each view behind the
    admin's login and :meth:`FoodieFastAdminSite.has_permission`) and list the page
    named ``url_name`` under ``app_label`` on the index and sidebar for requests
    ``visible`` accepts. Call it from the app's ``admin.py``."""
    if any(page.url_name == url_name for page in _pages):
        return
    _pages.append(AdminPage(app_label, app_name, title, url_name, tuple(urls), visible))
