from django.apps import AppConfig


class FoodieFastConfig(AppConfig):
    name = "foodiefast"
    verbose_name = "FoodieFast kernel"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from foodiefast import checks  # noqa: F401 - registers the kernel's system checks
