"""``django.contrib.admin`` with FoodieFast's site (in INSTALLED_APPS instead of it).

Kept apart from ``admin_site`` because app configs load before models can be imported."""

from django.contrib.admin.apps import AdminConfig


class FoodieFastAdminConfig(AdminConfig):
    default_site = "apps.accounts.admin_site.FoodieFastAdminSite"
