from django.apps import AppConfig


class FoodieFastConfig(AppConfig):
    name = "foodiefast"
    verbose_name = "FoodieFast kernel"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The kernel's system checks; the flag table forgotten when a flag is saved.
        from foodiefast import checks, flags  # noqa: F401
