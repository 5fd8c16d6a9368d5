from django.apps import AppConfig


class MenusConfig(AppConfig):
    name = "apps.menus"
    label = "menus"
    default_auto_field = "django.db.models.BigAutoField"
