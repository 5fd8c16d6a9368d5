from django.apps import AppConfig


class ChefsConfig(AppConfig):
    name = "apps.chefs"
    label = "chefs"
    default_auto_field = "django.db.models.BigAutoField"
