from django.apps import AppConfig


class FoodieFastConfig(AppConfig):
    name = "foodiefast"
    verbose_name = "FoodieFast kernel"
    default_auto_field = "django.db.models.BigAutoField"
