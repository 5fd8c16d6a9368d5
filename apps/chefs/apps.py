from django.apps import AppConfig


class ChefsConfig(AppConfig):
    name = "apps.chefs"
    label = "chefs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.accounts.events import UserErased, UserRegistered
        from apps.chefs.handlers import open_kitchen_on_chef_registered, withdraw_kitchen_on_user_erased
        from foodiefast.events import subscribe

        subscribe(UserRegistered, open_kitchen_on_chef_registered)
        subscribe(UserErased, withdraw_kitchen_on_user_erased)
